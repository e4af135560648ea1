#: options: {"context_tokens": 120, "max_new_tokens": 16}
#: mode: "single-line"
#: model: "retries\n"
#: text: "retries"
#: prompt-contains: "def download(\n    url: str,\n    retries: int = 3,\n):\n"
def download(
    url: str,
    retries: int = 3,
):
    self.log.append('a')
    self.log.append('b')
    self.log.append('c')
    self.log.append('d')
    self.log.append('e')
    self.log.append('f')
    self.log.append('g')
    self.log.append('h')
    self.log.append('i')
    self.log.append('j')
    self.log.append('k')
    self.log.append('l')
    attempts = █
    return attempts

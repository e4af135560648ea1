#: options: {"context_tokens": 120, "max_new_tokens": 16}
#: mode: "single-line"
#: model: "n + 1\n"
#: text: "n + 1"
#: prompt-contains: "def outer():\n    def inner(n):\n"
def outer():
    def inner(n):
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
        return █

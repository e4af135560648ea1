#: mode: "multi-line"
#: model: "def write(path, text):\n    with open(path, \"w\") as f:\n        f.write(text)\n"
#: text: "def write(path, text):\n  with open(path, \"w\") as f:\n    f.write(text)"
def read(path):
  with open(path) as f:
    return f.read()


█

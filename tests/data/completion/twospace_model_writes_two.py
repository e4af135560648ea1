#: mode: "multi-line"
#: model: "with open(path, \"w\") as f:\n    f.write(text)\n\ndef append(path, text):\n"
#: text: "with open(path, \"w\") as f:\n    f.write(text)"
def read(path):
  with open(path) as f:
    return f.read()


def write(path, text):
  █

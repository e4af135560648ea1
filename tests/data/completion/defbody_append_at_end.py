#: mode: "multi-line"
#: reason: "blank line between statements"
#: model: "return data\n\n\ndef save(path, data):\n"
#: text: "return data"
def load(path):
    with open(path) as f:
        data = f.read()
    █

#: mode: "multi-line"
#: model: "a = load()\n\n    b = a.parse()\n    return b\n"
#: text: "a = load()\n\n    b = a.parse()\n    return b"
def run():
    █

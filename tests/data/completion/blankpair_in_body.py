#: mode: "multi-line"
#: model: "a = load()\n    b = a.parse()\n\n\n    c = 3\n"
#: text: "a = load()\n    b = a.parse()"
def run():
    █

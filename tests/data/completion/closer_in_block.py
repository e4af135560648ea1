#: mode: "multi-line"
#: model: "parts = [1, 2]\n    return join(parts))\n"
#: text: "parts = [1, 2]\n    return join(parts)"
def build():
    █

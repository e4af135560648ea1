#: mode: "single-line"
#: model: "x, y):\n"
#: text: "x, y"
def distance(█):
    pass

#: mode: "multi-line"
#: model: "y = x + 1\n    return y\nprint(increment(2))\nmore = 1\n"
#: text: "y = x + 1\n    return y"
def increment(x):
    █

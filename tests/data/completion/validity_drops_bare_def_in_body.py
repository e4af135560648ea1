#: mode: "multi-line"
#: model: "def\n"
#: text: ""
#: guarded: true
def scale(x):
    y = x * 2
    █
    return y

#: mode: "multi-line"
#: model: "y = x * 2\n    if y > 10:"
#: text: "y = x * 2"
#: guarded: true
def scale(x):
    █
    return x

#: mode: "multi-line"
#: model: "return 1\n"
#: text: "return 1"
#: guarded: false
def broken(:
    pass


def ok():
    █

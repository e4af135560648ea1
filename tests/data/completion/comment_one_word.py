#: mode: "none"
#: reason: "inside a comment"
#: model: ": handle errors\n"
def load():
    # TODO█
    pass

#: mode: "single-line"
#: model: "not items:\n        return None\n"
#: text: "not items:"
def first(items):
    if █

#: mode: "single-line"
#: model: "not items:\n        return None\n"
#: text: "not items:\n        return None"
def first(items):
    if █

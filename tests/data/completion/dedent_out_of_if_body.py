#: mode: "multi-line"
#: model: "raise ValueError(\"negative\")\n    return x\n"
#: text: "raise ValueError(\"negative\")"
def check(x):
    if x < 0:
        █
    return x

#: mode: "multi-line"
#: model: "\n    return a + b\n"
#: text: "\n    return a + b"
def add(a, b):█

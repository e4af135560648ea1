#: mode: "multi-line"
#: reason: "empty block after a header"
#: model: "    return x * 2\ndef triple(x):\n"
#: text: "    return x * 2"
def double(x):
█

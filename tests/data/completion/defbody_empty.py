#: mode: "multi-line"
#: reason: "empty block after a header"
#: model: "total = sum(values)\n    return total / len(values)\n\n\ndef median(values):\n"
#: text: "total = sum(values)\n    return total / len(values)"
def mean(values):
    █

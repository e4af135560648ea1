#: mode: "multi-line"
#: model: "total = sum(values)\n    if total == 0:\n        return values\n    return [v / total for v in values]\n"
#: text: "total = sum(values)\n    if total == 0:\n        return values"
def normalise(values):
    █
    return [v / total for v in values]

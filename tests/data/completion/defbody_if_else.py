#: mode: "multi-line"
#: model: "if x < 0:\n        return -1\n    else:\n        return 1\n"
#: text: "if x < 0:\n        return -1\n    else:\n        return 1"
def sign(x):
    █

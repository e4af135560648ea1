#: options: {"multiline": "never"}
#: mode: "single-line"
#: reason: "multiline setting: never"
#: model: "return 1\n    x = 2\n"
#: text: "return 1"
def one():
    █

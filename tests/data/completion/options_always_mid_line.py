#: options: {"multiline": "always"}
#: mode: "multi-line"
#: reason: "multiline setting: always"
#: model: "0\nfor x in xs:\n    total += x\n"
#: text: "0\nfor x in xs:\n    total += x"
xs = [1, 2, 3]
total = █

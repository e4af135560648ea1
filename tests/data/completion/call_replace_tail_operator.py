#: mode: "single-line"
#: model: "items) + 1\n"
#: text: "items) + 1"
#: replace: 1
count = len(█)

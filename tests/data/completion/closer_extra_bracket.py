#: mode: "single-line"
#: model: ", 3]]\n"
#: text: ", 3]"
items = [1, 2█

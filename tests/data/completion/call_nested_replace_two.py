#: mode: "single-line"
#: model: "x), y)\n"
#: text: "x), y)"
#: replace: 2
result = outer(inner(█))

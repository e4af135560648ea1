#: mode: "single-line"
#: model: "a, b)\nprint(result)\n"
#: text: "a, b)"
result = compute(█

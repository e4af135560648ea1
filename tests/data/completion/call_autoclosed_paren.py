#: mode: "single-line"
#: model: "a, b)\n"
#: text: "a, b"
result = compute(█)

#: mode: "single-line"
#: model: "a, b"
#: text: "a, b"
result = compute(█)

#: mode: "single-line"
#: model: "a, b)\r\n"
#: text: "a, b"
result = compute(█)
print(result)

#: options: {"promptFormat": "embedded"}
#: mode: "single-line"
#: model: "a, b)\n"
#: text: "a, b"
#: format: "embedded"
#: prompt-contains: "<PRE><SUF>)\nprint(result)\n<MID>result = compute("
result = compute(█)
print(result)

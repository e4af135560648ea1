#: options: {"prompt_format": "codellama"}
#: mode: "single-line"
#: model: "a, b)\n"
#: text: "a, b"
#: format: "plain"
#: warning: "▁<PRE>"
#: prompt-lacks: "print(result)"
result = compute(█)
print(result)

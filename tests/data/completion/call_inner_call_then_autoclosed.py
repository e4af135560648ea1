#: mode: "single-line"
#: model: "len(items)"
#: text: "len(items)"
print(█)

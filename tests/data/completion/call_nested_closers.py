#: mode: "single-line"
#: model: "items))\n"
#: text: "items"
print(len(█))

#: mode: "single-line"
#: model: ", sep=\"\")\n"
#: text: ", sep=\"\""
print("a"█)

#: mode: "single-line"
#: model: "user.name}\")\n"
#: text: "user.name"
print(f"Hello, {█}")

#: mode: "single-line"
#: model: "user.name"
#: text: "user.name"
print(f"Hello, {█}")

#: mode: "none"
#: reason: "inside a string"
#: model: "name"
print(f"{user['█']}")

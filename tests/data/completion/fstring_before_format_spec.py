#: mode: "single-line"
#: model: "price"
#: text: "price"
line = f"{name}: {█:.2f}"

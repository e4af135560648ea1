#: mode: "single-line"
#: model: "remaining"
#: text: "remaining"
msg = f"{count} items, {█} left"

#: mode: "none"
#: reason: "inside a string"
#: model: "EUR "
label = f"Total: █{total}"

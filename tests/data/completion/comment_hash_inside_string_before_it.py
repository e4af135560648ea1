#: mode: "none"
#: reason: "inside a comment"
#: model: " for now\n"
url = "https://example.com/#top"  # ok█

#: mode: "none"
#: reason: "inside a string"
#: model: "ion"
url = "https://example.com/docs#sect█"

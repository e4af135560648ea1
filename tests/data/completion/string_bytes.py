#: mode: "none"
#: reason: "inside a string"
#: model: "\\r\\n"
MAGIC = b"\x89PNG█"

#: mode: "single-line"
#: model: "\"]\", 1]\n"
#: text: "\"]\", 1"
tokens = [█]

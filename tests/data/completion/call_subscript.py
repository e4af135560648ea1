#: mode: "single-line"
#: model: "0]\n"
#: text: "0"
first = values[█]

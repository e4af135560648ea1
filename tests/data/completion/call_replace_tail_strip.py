#: mode: "single-line"
#: model: "value).strip()\n"
#: text: "value).strip()"
#: replace: 1
name = str(█)

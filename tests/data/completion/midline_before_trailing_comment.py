#: mode: "single-line"
#: model: "30\n"
#: text: "30"
timeout = █  # seconds

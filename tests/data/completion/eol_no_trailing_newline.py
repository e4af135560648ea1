#: mode: "single-line"
#: model: "3\n"
#: text: "3"
MAX_RETRIES = █
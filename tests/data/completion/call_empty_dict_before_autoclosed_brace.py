#: mode: "single-line"
#: model: "\"headers\": {}"
#: text: "\"headers\": {}"
options = {█}

#: mode: "multi-line"
#: model: "\n\n    \n"
#: text: ""
def run():
    █

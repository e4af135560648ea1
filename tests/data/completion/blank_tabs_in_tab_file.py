#: mode: "multi-line"
#: model: "\t\t\n\t\n"
#: text: ""
def run():
	█

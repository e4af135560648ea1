#: mode: "multi-line"
#: model: "print(name)\n\t\treturn name\n\treturn None\n"
#: text: "print(name)\n\t\treturn name"
def greet(name):
	if name:
		█

#: mode: "multi-line"
#: model: "greeting = \"Hello, \" + name\n    print(greeting)\n    return greeting\n"
#: text: "greeting = \"Hello, \" + name\n\tprint(greeting)\n\treturn greeting"
def greet(name):
	█

#: mode: "multi-line"
#: model: "def b():\r\n    return 2\r\n"
#: text: "def b():\r\n\treturn 2"
def a():
	return 1


█

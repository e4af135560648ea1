#: mode: "multi-line"
#: model: "def b():\n    if flag:\n        return 2\n    return 3\n"
#: text: "def b():\n\tif flag:\n\t\treturn 2\n\treturn 3"
def a():
	return 1


█

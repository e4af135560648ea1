#: mode: "multi-line"
#: model: "name = name.strip()\n\t\treturn name.title()\n\n\tdef other(self):\n"
#: text: "name = name.strip()\n\t\treturn name.title()"
class Greeter:
	def format(self, name):
		█

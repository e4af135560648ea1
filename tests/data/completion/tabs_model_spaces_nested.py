#: mode: "multi-line"
#: model: "for key in keys:\n            self.data.pop(key, None)\n"
#: text: "for key in keys:\n\t\t\tself.data.pop(key, None)"
class Cache:
	def __init__(self):
		self.data = {}

	def drop(self, keys):
		█

#: mode: "multi-line"
#: model: "def __init__(self, name):\r\n        self.name = name\r\n\r\n    def greet(self):\r\n"
#: text: "def __init__(self, name):\r\n        self.name = name"
class Person:
    █

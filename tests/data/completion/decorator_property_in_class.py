#: mode: "multi-line"
#: model: "def name(self):\n        return self._name\n\n    @name.setter\n    def name(self, value):\n"
#: text: "def name(self):\n        return self._name"
class Person:
    def __init__(self, name):
        self._name = name

    @property
    █

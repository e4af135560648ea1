#: mode: "multi-line"
#: reason: "blank line between statements"
#: model: "def push(self, item):\n        self.items.append(item)\n\n    def pop(self):\n        return self.items.pop()\n"
#: text: "def push(self, item):\n        self.items.append(item)"
class Stack:
    def __init__(self):
        self.items = []

    █

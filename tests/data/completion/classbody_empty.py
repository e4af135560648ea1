#: mode: "multi-line"
#: reason: "empty block after a header"
#: model: "def __init__(self, x, y):\n        self.x = x\n        self.y = y\n\n    def __repr__(self):\n        return f\"Point({self.x}, {self.y})\"\n"
#: text: "def __init__(self, x, y):\n        self.x = x\n        self.y = y"
class Point:
    █

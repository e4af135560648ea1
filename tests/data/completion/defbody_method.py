#: mode: "multi-line"
#: model: "self.count += step\n        return self.count\n\n    def reset(self):\n        self.count = 0\n"
#: text: "self.count += step\n        return self.count"
class Counter:
    def __init__(self):
        self.count = 0

    def increment(self, step=1):
        █

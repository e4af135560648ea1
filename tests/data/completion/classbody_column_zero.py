#: mode: "multi-line"
#: model: "    def g(self):\n        return 2\n\n    def h(self):\n"
#: text: "    def g(self):\n        return 2"
class A:
    def f(self):
        return 1

█

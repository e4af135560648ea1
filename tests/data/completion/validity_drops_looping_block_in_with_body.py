#: mode: "multi-line"
#: model: "if not in self.handle:\n            if not self.handle:\n                raise ValueError(\"cannot use %s\" % (name, self.handle))\n            if not self.handle:\n"
#: text: ""
#: guarded: true
def load(path):
    with open(path) as handle:
        █

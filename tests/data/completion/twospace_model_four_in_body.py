#: mode: "multi-line"
#: model: "total = 0\n  for x in xs:\n      total += x\n  return total\n"
#: text: "total = 0\n  for x in xs:\n    total += x\n  return total"
def read(path):
  with open(path) as f:
    return f.read()


def total(xs):
  █

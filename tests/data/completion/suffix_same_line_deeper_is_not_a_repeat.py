#: mode: "multi-line"
#: model: "line = stream.readline()\n        if not line:\n            return lines\n        lines.append(line)\n"
#: text: "line = stream.readline()\n        if not line:\n            return lines\n        lines.append(line)"
def read_all(stream):
    lines = []
    while True:
        █
    return lines

#: mode: "multi-line"
#: model: "name, value = line.split(\"=\")\n    return name.strip(), value.strip("
#: text: "name, value = line.split(\"=\")"
#: guarded: true
def parse(line):
    █

#: mode: "multi-line"
#: model: "for item in items\n        print(item)\n"
#: text: ""
#: guarded: true
def show(items):
    █

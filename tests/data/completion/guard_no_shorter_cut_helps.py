#: mode: "multi-line"
#: model: "for item in items\n        print(item)\n"
#: text: "for item in items\n        print(item)"
#: guarded: false
def show(items):
    █

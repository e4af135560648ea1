#: options: {"context_tokens": 120, "max_new_tokens": 16}
#: mode: "single-line"
#: model: "count\n"
#: text: "count"
#: prompt-contains: "class Inventory:\n    def restock(self, item, count):\n        self.stock[item] += "
#: prompt-lacks: "class Inventory:\nclass Inventory:"
class Inventory:
    def restock(self, item, count):
        self.stock[item] += █

#: options: {"context_tokens": 120, "max_new_tokens": 16}
#: mode: "multi-line"
#: model: "self.save()\n"
#: text: "self.save()"
#: prompt-contains: "class Inventory:\n    def restock(self, item, count):\n"
class Inventory:
    def restock(self, item, count):
        self.log.append('a')
        self.log.append('b')
        self.log.append('c')
        self.log.append('d')
        self.log.append('e')
        self.log.append('f')
        self.log.append('g')
        self.log.append('h')
        self.log.append('i')
        self.log.append('j')
        self.log.append('k')
        self.log.append('l')
        █

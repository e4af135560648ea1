#: mode: "multi-line"
#: model: "self.balance = 0\n\n    def deposit(self, amount):\n        self.balance += amount\n"
#: text: "self.balance = 0"
class Account:
    def __init__(self, owner):
        self.owner = owner
        █

    def deposit(self, amount):
        self.balance += amount

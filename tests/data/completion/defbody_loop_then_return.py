#: mode: "multi-line"
#: model: "for item in items:\n        if item.price < 0:\n            raise ValueError(item)\n    return sum(item.price for item in items)\n"
#: text: "for item in items:\n        if item.price < 0:\n            raise ValueError(item)\n    return sum(item.price for item in items)"
def total_price(items):
    █

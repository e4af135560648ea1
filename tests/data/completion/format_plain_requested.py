#: options: {"promptFormat": "plain"}
#: mode: "multi-line"
#: model: "total = sum(prices)\n"
#: text: "total = sum(prices)"
#: format: "plain"
#: prompt-contains: "def checkout(prices):\n    "
#: prompt-lacks: "<PRE>"
#: prompt-lacks: "return total"
def checkout(prices):
    █
    return total

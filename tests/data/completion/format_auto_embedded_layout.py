#: mode: "multi-line"
#: model: "total = sum(prices)\n"
#: text: "total = sum(prices)"
#: format: "embedded"
#: prompt-contains: "<PRE><SUF>\n    return total\n<MID>def checkout(prices):\n    "
def checkout(prices):
    █
    return total

#: mode: "single-line"
#: reason: "continuing a comment"
#: model: " total price with tax\r\nx = 1\r\n"
#: text: " total price with tax"
# Compute the█
def total(prices):
    return sum(prices)

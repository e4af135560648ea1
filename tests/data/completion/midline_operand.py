#: mode: "single-line"
#: reason: "mid-statement"
#: model: "quantity"
#: text: "quantity"
def order_total(price, quantity, shipping):
    return price * █ + shipping

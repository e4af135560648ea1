#: mode: "single-line"
#: model: "quantity + shipping\n"
#: text: "quantity"
def order_total(price, quantity, shipping):
    return price * █ + shipping

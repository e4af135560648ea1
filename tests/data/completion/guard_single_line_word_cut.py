#: mode: "single-line"
#: model: "* quantity +\n"
#: text: "* quantity"
#: guarded: true
def order_total(price, quantity):
    total = price █
    return total

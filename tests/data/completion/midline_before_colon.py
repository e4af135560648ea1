#: mode: "single-line"
#: model: "x < low:\n"
#: text: "x < low"
def clamp(x, low, high):
    if █:
        return low
    return min(x, high)

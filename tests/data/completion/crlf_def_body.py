#: mode: "multi-line"
#: model: "y = x * 2\r\n    return y\r\n\r\nprint(double(2))\r\n"
#: text: "y = x * 2\r\n    return y"
def double(x):
    █

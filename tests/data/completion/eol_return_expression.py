#: mode: "single-line"
#: model: "r * r\n\n\ndef square_area(s):\n"
#: text: "r * r"
def circle_area(r):
    return 3.14159 * █

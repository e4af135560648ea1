#: mode: "multi-line"
#: model: "result = w * h\r\n    return result\r\n"
#: text: "result = w * h"
def area(w, h):
    █
    return result

#: mode: "multi-line"
#: model: "result = w * h\n    return result\n"
#: text: "result = w * h"
def area(w, h):
    █
    return result

#: mode: "single-line"
#: model: "\"r\", encoding=\"utf-8\""
#: text: "\"r\", encoding=\"utf-8\""
def read(path):
    with open(path, █) as f:
        return f.read()

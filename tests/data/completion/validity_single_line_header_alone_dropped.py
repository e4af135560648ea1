#: mode: "single-line"
#: options: {"multiline": "never"}
#: model: "():\n"
#: text: ""
#: guarded: true
def outer(x):
    def inner█

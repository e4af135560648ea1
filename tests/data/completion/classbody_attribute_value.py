#: mode: "single-line"
#: model: "\"anonymous\"\n    age: int = 0\n"
#: text: "\"anonymous\""
class User:
    name: str = █

#: options: {"max_new_tokens": 20}
#: mode: "multi-line"
#: model: "y = x + 1\n    z = foo(a, b, c)\n"
#: text: "y = x + 1"
def step(x):
    █

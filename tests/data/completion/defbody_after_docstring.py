#: mode: "multi-line"
#: model: "return 2 * x\n\n\ndef halve(x):\n"
#: text: "return 2 * x"
def double(x):
    """Twice x."""
    █

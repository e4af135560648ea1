#: mode: "single-line"
#: reason: "continuing a docstring"
#: model: "the rows of a CSV file.\"\"\"\r\n"
#: text: "the rows of a CSV file."
def read_rows(path):
    """Read █"""

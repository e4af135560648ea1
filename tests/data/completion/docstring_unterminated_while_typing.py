#: mode: "single-line"
#: model: " the mean of values.\n"
#: text: " the mean of values."
def mean(values):
    """Compute█

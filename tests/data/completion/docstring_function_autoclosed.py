#: mode: "single-line"
#: reason: "continuing a docstring"
#: model: "the URL, retrying on failure.\"\"\"\n"
#: text: "the URL, retrying on failure."
def fetch(url, retries=3):
    """Fetch █"""

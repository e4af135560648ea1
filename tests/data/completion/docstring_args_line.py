#: mode: "single-line"
#: reason: "continuing a docstring"
#: model: "the address to fetch.\n        retries: how often to try.\n"
#: text: "the address to fetch."
def fetch(url, retries=3):
    """Fetch a URL.

    Args:
        url: █
    """

#: mode: "single-line"
#: reason: "continuing a comment"
#: model: " times, then give up.\n    for attempt in range(3):\n"
#: text: " times, then give up."
def fetch(url):
    # Retry the request up to three█

#: mode: "multi-line"
#: model: "try:\n        return int(text)\n    except ValueError:\n        return None\n"
#: text: "try:\n        return int(text)\n    except ValueError:\n        return None"
def to_int(text):
    █

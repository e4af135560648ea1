#: mode: "multi-line"
#: reason: "empty block after a header"
#: model: "with open(path) as f:\n        return json.load(f)\n\ndef save(path, data):\n    with open(path, \"w\") as f:\n"
#: text: "with open(path) as f:\n        return json.load(f)"
import json


def load(path):
    █

def save(path, data):
    with open(path, "w") as f:
        json.dump(data, f)

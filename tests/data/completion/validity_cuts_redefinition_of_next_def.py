#: mode: "multi-line"
#: model: "LIMIT = 10\ndef load(path):\n    pass\n"
#: text: "LIMIT = 10"
import os
█


def load(path):
    return os.path.basename(path)

#: mode: "single-line"
#: model: "join, exists\nimport sys\n"
#: text: "join, exists"
from os.path import █

#: mode: "multi-line"
#: model: "x = 1\ny = 2\n\n\nz = 3\n"
#: text: "x = 1\ny = 2"
import os
█

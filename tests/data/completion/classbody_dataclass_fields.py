#: mode: "multi-line"
#: model: "x: float\n    y: float\n\n\nclass Line:\n    start: Point\n"
#: text: "x: float\n    y: float"
from dataclasses import dataclass


@dataclass
class Point:
    █

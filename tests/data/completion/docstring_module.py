#: mode: "single-line"
#: reason: "continuing a docstring"
#: model: "converting CSV files to JSON.\n\nUsage:\n"
#: text: "converting CSV files to JSON."
"""Command-line tools for █
"""
import sys

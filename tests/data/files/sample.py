import os


def read_lines(path):
    """Return the lines of a file."""
    with open(path) as handle:

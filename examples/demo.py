"""Small helpers for reading configuration files."""

import json
from pathlib import Path


def load_config(path):
    """Read a JSON configuration file and return it as a dictionary."""
    with open(path) as handle:
        

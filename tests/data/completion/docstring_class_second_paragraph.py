#: mode: "single-line"
#: reason: "continuing a docstring"
#: model: "Supports INI and TOML.\n    \"\"\"\n"
#: text: "Supports INI and TOML."
class Parser:
    """Parse configuration files.

    █
    """

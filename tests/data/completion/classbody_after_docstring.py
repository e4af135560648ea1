#: mode: "multi-line"
#: model: "debug: bool = False\n    port: int = 8080\n\n\ndef load():\n"
#: text: "debug: bool = False\n    port: int = 8080"
class Config:
    """Settings read from the environment."""

    █

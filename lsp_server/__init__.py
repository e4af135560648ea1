"""LSP layer: CLI, pygls server, handlers, settings, positions."""

__version__ = "0.1.0"

"""Errors raised by the model layer; the server translates them to user messages in one place."""


class ModelError(Exception):
    """Base class: the message is written for the user and names what to fix."""


class DeviceError(ModelError):
    """The requested device or dtype cannot be used on this machine."""


class ModelLoadError(ModelError):
    """A checkpoint directory is missing, is not a model, or failed to load."""


class TokenizerMismatchError(ModelError):
    """The draft model's tokenizer does not agree with the target's on shared ids."""


class NotEnoughMemoryError(ModelError):
    """The pair needs more memory than is free where it would load; found before loading."""


class RemoteError(ModelError):
    """The remote engine's server is unreachable, refused a request or failed it."""

"""Logging setup: stderr or a file, never stdout (stdout belongs to the LSP connection)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from pygls.exceptions import JsonRpcInvalidParams

LEVELS = {0: logging.WARNING, 1: logging.INFO, 2: logging.DEBUG}


class ExpectedClientErrors(logging.Filter):
    """pygls logs a traceback for every error response; a bad position or an unopened
    document is the client's mistake, answered with a clear error: one line is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], JsonRpcInvalidParams):
            record.msg, record.args = "invalid request: %s", (record.exc_info[1].message,)
            record.exc_info = None
        return True


def configure_logging(verbosity: int, log_file: Path | None) -> None:
    handler = logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(ExpectedClientErrors())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(LEVELS[min(verbosity, 2)])
    # Libraries speak up only when asked to with -vv.
    for noisy in ("pygls", "transformers", "httpx", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbosity >= 2 else logging.WARNING)

"""Offline training of the embedded default draft/target pair (not imported at run time)."""

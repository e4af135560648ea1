"""Benchmarks of the completion pipeline (outside the model)."""

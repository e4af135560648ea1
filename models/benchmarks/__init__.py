"""Benchmark commands of the model layer; they print tables, they are not tests."""

"""`tandem bench eval`: HumanEval-based infilling through the real server (see README)."""

"""`tandem bench`: benchmark suites that print tables, and the HumanEval evaluation (never timed tests)."""

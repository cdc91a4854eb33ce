"""Golden outputs of the shipped policy stack (`tests/golden/policy.py`)."""

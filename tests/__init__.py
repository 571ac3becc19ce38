"""shellvault test-suite (the harness lives in conftest.py and world.py)."""

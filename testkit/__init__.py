"""The real parts the tests, the demo and the benchmarks run shellvault against.

One importable place (no pytest needed): ``moto`` (a ``moto_server`` process and its
request recorder), ``keyring`` (gnome-keyring's Secret Service on a private D-Bus),
``home`` (an isolated user running the console script), ``world`` (the README's
walkthrough built in moto), ``programs`` (finding programs, waiting, stopping by PID).
``tests/conftest.py`` wraps them in fixtures.
"""

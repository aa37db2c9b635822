"""Plain helpers and constants the test modules share; the shared fixtures are in ``tests/conftest.py``.

One module per subject, imported by name, e.g. ``from support.releases import RULES, approve, built``.
No test module imports another test module.
"""

"""Benchmarks of ipd-repo against the targets of its issues (``python -m bench``, ``make bench``)."""

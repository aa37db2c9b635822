"""Checking a trial: its Great Expectations suite and the IPD integrity checks."""

"""Corrections: staged changes, files of them, the log, supplements, queries to the trialists, and applying them in a new version."""

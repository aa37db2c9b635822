"""Versions: cutting one, its Parquet parts, and what tells versions apart (diff, explain, summary, show, lookup)."""

"""Versions: their records, Parquet parts and fingerprints, and what tells versions apart (diff, explain, summary, show, lookup)."""

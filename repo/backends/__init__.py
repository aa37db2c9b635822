"""The one door to each third-party backend: git, DVC, file formats, hashing, column types and values."""

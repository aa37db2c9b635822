"""The one door to each third-party backend: git, DVC, DuckDB (sql), Parquet files, file formats, hashing,
column types and values."""

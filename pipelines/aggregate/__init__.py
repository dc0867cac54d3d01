"""DuckDB: validated rows -> public records, aggregates per level, quality figures."""

"""Validation: Table Schema checks (frictionless, or its DuckDB mirror for big rounds), declared rules, duplicates."""

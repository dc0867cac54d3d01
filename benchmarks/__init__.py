"""Benchmarks: they print and record figures; tests check behaviour, not speed."""

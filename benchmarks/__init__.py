"""Benchmarks that print figures, each against a baseline run in the same process."""

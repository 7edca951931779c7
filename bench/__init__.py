"""Benchmarks: each prints numbers; tests never assert wall-clock times."""

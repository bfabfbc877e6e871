"""Benchmark peers (PyVRP, plain OR-Tools) and their conversion to wastenet plans."""

"""Gnomon's benchmark: load drivers, workloads, server launch and measurement (see bench/run.py)."""

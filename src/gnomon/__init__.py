"""Gnomon: a Temporal-compatible durable execution server in one Python process."""

__version__ = "0.1.0"

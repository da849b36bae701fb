"""Gnomon's own runner for the Python and TypeScript features of temporalio/features."""

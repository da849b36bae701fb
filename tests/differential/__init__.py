"""Differential tests: the same SDK scenario on the reference server and on Gnomon, histories compared."""

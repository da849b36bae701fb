"""The ``gnomon`` command line."""

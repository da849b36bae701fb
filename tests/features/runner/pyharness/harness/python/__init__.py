"""The Python half of the stand-in harness."""

"""Load drivers, each run as its own process: ``python -m bench.drivers.raw`` or ``bench.drivers.sdk``.

Both share the command line, the closed loop and the result protocol of :mod:`.common`.
"""

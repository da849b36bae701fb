"""Gnomon's own stand-in for the ``harness`` package that ``temporalio/features`` Python features import.

Only :mod:`harness.python.feature` and :mod:`harness.python.util` exist: the names the
feature files import, implemented here from scratch. This directory is put first on
``sys.path`` by :mod:`tests.features.runner.pyfeature` and nowhere else.
"""

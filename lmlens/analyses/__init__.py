"""Analyses: pure functions of a ``Trace`` returning frozen dataclasses of numpy arrays.

This package never imports ``lmlens.views``, jinja2, IPython or matplotlib (a test checks).
Import each analysis from its module, e.g. ``from lmlens.analyses.predictions import predictions``.
"""

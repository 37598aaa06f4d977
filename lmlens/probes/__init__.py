"""Facts for knowledge probes (``lens.probe``): the ``Fact`` record, LAMA's files, and a small set
written for lmlens (English and Japanese) shipped with it.

This part imports nothing else of lmlens: it is data and the code that reads it.

>>> from lmlens.probes import Fact, shipped
>>> f = Fact("The capital of [X] is [Y].", "France", "Paris", relation="en/capital")
>>> f.sentence()
'The capital of France is Paris.'
>>> len(shipped(lang="en")) > 40
True
"""

from .facts import Fact, as_fact, as_facts, read_jsonl
from .lama import load_lama
from .shipped import SHIPPED_LANGS, shipped

__all__ = ["SHIPPED_LANGS", "Fact", "as_fact", "as_facts", "load_lama", "read_jsonl", "shipped"]

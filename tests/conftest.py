"""Shared fixtures: tiny models from configs in code (see tests/tiny.py), real embedded models."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
torch.set_num_threads(max(1, min(2, torch.get_num_threads())))

from tiny import tiny_lens, tiny_model  # noqa: E402


@pytest.fixture
def gpt2_lens():
    """A tiny GPT-2 lens (2 layers, d_model 32)."""
    return tiny_lens("gpt2")


@pytest.fixture
def llama_lens():
    """A tiny Llama lens (2 layers, d_model 32)."""
    return tiny_lens("llama")


@pytest.fixture
def fresh_gpt2():
    """A fresh ``(model, tokenizer)`` pair that a test may modify."""
    return tiny_model("gpt2")


@pytest.fixture(scope="session")
def smollm2():
    """The real embedded SmolLM2-135M lens (slow: loads once per session)."""
    import lmlens

    try:
        return lmlens.load("smollm2")
    except ModuleNotFoundError as e:
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def minilm():
    """The real embedded all-MiniLM-L6-v2 lens."""
    import lmlens

    try:
        return lmlens.load("minilm")
    except ModuleNotFoundError as e:
        pytest.skip(str(e))

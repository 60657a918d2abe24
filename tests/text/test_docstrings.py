"""The ``Example:`` sections of seqlab.text's docstrings really run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["byte_level", "characters", "decoders", "encoding", "merges", "models", "normalizers", "pre_tokenizers",
           "processors", "tokenizer", "trainers"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(f"seqlab.text.{name}"))
    assert result.attempted > 0 and result.failed == 0

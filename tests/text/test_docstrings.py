"""The ``Example:`` sections of seqlab.text's docstrings really run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["added_tokens", "byte_level", "characters", "decoders", "encoding", "json_fields", "merges", "models",
           "normalized", "normalizers", "patterns", "pre_tokenizers", "precompiled", "processors", "tokenizer",
           "trainers", "unicode"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(f"seqlab.text.{name}"))
    assert result.attempted > 0 and result.failed == 0

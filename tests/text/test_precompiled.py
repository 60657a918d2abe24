"""SentencePiece's compiled normalization map: seqlab builds and reads charsmaps, rewrites as ``tokenizers`` does
(shortest matching prefix; graphemes under 6 bytes whole, longer ones per character) and refuses corrupt ones."""

from __future__ import annotations

import base64
import json
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.errors import SeqlabError
from seqlab.text import Tokenizer
from seqlab.text.precompiled import CharsMap, build_charsmap

hf = pytest.importorskip("tokenizers")

RULES = {"ﬁ": "fi", "Ⅳ": "IV", "e": "E", "é": "É!", "x\u0301y": "Q", "\u200b": "", "①": "1", "ab": "<ab>",
         "🙂": ":)", "👨\u200d👩": "family"}


def test_builder_and_reader_round_trip():
    charsmap = CharsMap(build_charsmap(RULES))
    assert all(charsmap.lookup(key) == value for key, value in RULES.items())
    assert charsmap.lookup("q") is None
    assert charsmap.lookup("abc") == "<ab>"  # a prefix of the chunk has a rule
    assert charsmap.lookup("eab") == "E"  # the shortest matching prefix wins


def _tokenizer(rules: dict[str, str]):
    tok = hf.Tokenizer(hf.models.WordLevel({"<unk>": 0}, unk_token="<unk>"))
    tok.pre_tokenizer = hf.pre_tokenizers.Split(hf.Regex(r"[\s\S]"), "isolated")
    data = json.loads(tok.to_str())
    data["normalizer"] = {"type": "Precompiled",
                          "precompiled_charsmap": base64.b64encode(build_charsmap(rules)).decode("ascii")}
    text = json.dumps(data)
    return Tokenizer.from_str(text), hf.Tokenizer.from_str(text)


PRECOMPILED = _tokenizer(RULES)


PIECES = ["e", "é", "e\u0301", "x\u0301y", "x", "\u0301", "ab", "a", "ﬁ", "Ⅳ", "\u200b", "①", "🙂", "👨\u200d👩",
          "👨\u200d👩\u200d👧", "🙂🏽", "q", " "]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=10).map("".join))
def test_rewrites_text_and_offsets_as_tokenizers(text):
    ours, theirs = PRECOMPILED
    expected = theirs.encode(text)
    assert ours.normalizer.normalize_str(text) == theirs.normalizer.normalize_str(text)
    assert ours.encode(text).offsets == [tuple(o) for o in expected.offsets]


@pytest.mark.parametrize("blob", [b"", b"\x01\x00", struct.pack("<I", 8) + b"\x00" * 4,
                                  struct.pack("<I", 4) + b"\x00" * 4 + b"\xff\xfe"])
def test_corrupt_charsmaps_are_refused(blob):
    with pytest.raises(SeqlabError, match="precompiled_charsmap"):
        CharsMap(blob)

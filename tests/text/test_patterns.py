"""Oniguruma patterns (what ``tokenizers`` runs ``Split`` and ``Replace`` with) translated to Python's ``regex``:
the same matches on the patterns of published tokenizers and on the constructs whose meaning differs; the
constructs that cannot be translated exactly are refused with a one-line error."""

from __future__ import annotations

import pytest
from _parity import TEXT
from hypothesis import given, settings

from seqlab.errors import SeqlabError
from seqlab.text.patterns import compile_pattern, find_matches, translate
from seqlab.text.pre_tokenizers import GPT2_PATTERN, GPT4_PATTERN

hf = pytest.importorskip("tokenizers")

PATTERNS = [
    GPT2_PATTERN, GPT4_PATTERN,
    # Llama 3 and Qwen 2
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
    r"|\s+(?!\S)|\s+",
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)"
    r"|\s+",
    # CLIP, BLOOM-like, DeepSeek-like
    r"'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+", r" ?[^(\s|[.,!?…。，、।۔،])]+",
    r"[\r\n]", r"\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕ]+",
    r"\p{Han}+|\p{Hiragana}+|\p{Katakana}+", r"[0-9]{1,3}(?=(?:[0-9]{3})*\b)",
    # the constructs translated because Oniguruma reads them differently from Python
    r"^\s*\w+", r"\w+$", r"a$|^b", r"(?m).", r"\h+", r"\H", r"x\Z", r"x\z", r"\w+", r"[\w-]+", r"\W+", r"\bw", r"\B.",
    r"x*", r"|", r"(?=b)|b", r"\x{61}+", r"[\x{41}-\x{5a}]+", r"\e", r"(?i)ß", r"(?i:ǅ)", r"(?x) a b # comment",
    r"(?<name>a)\k<name>", r"(?#note)c", r"[^a\h]", r"\p{^L}+", r"\P{N}", r"\p{Lu}\p{Ll}+", r"a{,2}", r"[a[bc]]+",
]


@pytest.mark.parametrize("pattern", PATTERNS)
@settings(max_examples=25, deadline=None)
@given(text=TEXT)
def test_matches_agree_with_tokenizers(pattern, text):
    theirs = hf.normalizers.Replace(hf.Regex(pattern), "\u2016").normalize_str(text + " a\nb²ab")
    compiled = compile_pattern(pattern)
    full = text + " a\nb²ab"
    parts, last = [], 0
    for a, b in find_matches(compiled, full):
        parts.extend([full[last:a], "\u2016"])
        last = b
    parts.append(full[last:])
    assert "".join(parts) == theirs


@pytest.mark.parametrize(("pattern", "construct"), [
    ("[[:alpha:]]", "POSIX bracket"), ("[a[^bc]]", "negated character class inside"), ("[a&&b]", "&&"),
    ("a(?i)b", "inline option"), (r"\101", "octal"), (r"\y", r"\y"), (r"\p{Word}", "property"),
    (r"\p{Emoji}", "property"), (r"[\W]", r"\W inside"), ("a{1,2}+", "repeat of a repeat"), ("(?~abc)", "group"),
])
def test_constructs_that_differ_are_refused_by_name(pattern, construct):
    with pytest.raises(SeqlabError) as error:
        compile_pattern(pattern)
    assert construct in str(error.value) and "\n" not in str(error.value)


def test_invalid_patterns_are_one_line_errors():
    for pattern in ["(", "[a-", "a**", r"\p{", r"\x{110000}"]:
        with pytest.raises(SeqlabError, match="pattern"):
            compile_pattern(pattern)


def test_translation_of_anchors_and_options():
    assert translate("^a$") == "(?m:^)a(?m:$)"
    assert translate("(?m)a.b") == "(?s)a.b"
    assert translate(r"\h") == "[0-9a-fA-F]"
    assert find_matches(compile_pattern("x*"), "axxbx") == [(0, 0), (1, 3), (4, 5)]

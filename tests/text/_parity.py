"""Shared by the parity tests: compare a seqlab tokenizer with a Hugging Face one, and the texts to compare on."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import strategies as st

from seqlab.errors import SeqlabError
from seqlab.text import Tokenizer

# code points unassigned in every Unicode version (so both libraries' tables agree on them), private use,
# combining marks, joiners, right-to-left text, spaces of every kind
ADVERSARIAL_CHARACTERS = [
    "\u0378", "\u0379", "\ufffe", "\uffff", "\U000e0080", "\U0010fffe", "\ue000", "\uf8ff", "\U000f0000", "\u0301",
    "\u0300", "\u0316", "\u0334", "\u20dd", "\u093c", "\u0bbe", "\u1161", "\u11a8", "\u200d", "\u200c", "\u2060",
    "\u200b", "\ufeff", "\u00ad", "\u05d0", "\u0628", "\u202e", "\u3000", "\u00a0", "\u2028", "\x85", "\t", "\n",
    "\r", " ", "\x00", "\x7f", "\ufffd", "ﬁ", "Ⅳ", "①", "ǅ", "İ", "ß", "Σ", "ς", "²", "½", "ー", "あ", "ア", "日",
    "한", "\u1100", "🙂", "🏽", "👨", "👩", "👧",
]
WORDS = ["the", "The", "cat", "machine", "don't", "it's", "I'll", "café", "naïve", "Éclair", "日本語", "한국어",
         "مرحبا", "שלום", "🙂👍🏽", "👨\u200d👩\u200d👧", "e\u0301", "a\u0300\u0301", "$100.50", "1,000", "42",
         "co-operate", "e-mail", "x--y", "ΣΑΣ", "İstanbul", "straße", "ﬁne", "Ⅳ", " ", "  ", "   ", "\t", "\n",
         "\r\n", ",", ".", "!", "?", "<s>", "</s>", "<mask>", "[MASK]", "<unk>", "<|endoftext|>", "▁", "<0x41>"]

# characters Python's Unicode database knows (hypothesis draws from it) and the adversarial ones above
ASSIGNED = st.characters(codec="utf-8", exclude_categories=["Cs", "Cn"])
TEXT = st.one_of(
    st.text(st.one_of(ASSIGNED, st.sampled_from(ADVERSARIAL_CHARACTERS)), max_size=30),
    st.lists(st.sampled_from(WORDS), max_size=12).map("".join),
    st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join),
)


def adversarial_texts() -> list[str]:
    """Fixed hard cases: every adversarial character alone and in words, special tokens inside words."""
    texts = ["", " ", "  leading and trailing  ", "a  b   c", "un<mask>known", "<s>start</s>end",
             "tab\tsep\tvalues", "line one\nline two\r\nline three", "  <s>  </s>  ", "x" * 120,
             "".join(ADVERSARIAL_CHARACTERS), " ".join(ADVERSARIAL_CHARACTERS)]
    texts += [f"ab{ch}cd {ch}" for ch in ADVERSARIAL_CHARACTERS]
    texts += [" ".join(WORDS), "".join(WORDS)]
    return texts


def dataset_texts(data_dir: Path, per_file: int = 40) -> list[str]:
    """Lines of the shared datasets: Tiny Shakespeare, Gutenberg read as Latin-1, fra-eng, WNUT-17 tweets."""
    out = []
    shakespeare = (data_dir / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8").splitlines()
    out += shakespeare[:: len(shakespeare) // per_file][:per_file]
    gutenberg = (data_dir / "gutenberg" / "austen-emma.txt").read_text(encoding="latin-1").splitlines()
    out += gutenberg[:: len(gutenberg) // per_file][:per_file]
    pairs = (data_dir / "fra-eng" / "fra.txt").read_text(encoding="utf-8").splitlines()
    out += [half for line in pairs[:: len(pairs) // per_file][:per_file] for half in line.split("\t")[:2]]
    tweets, words = [], []
    for line in (data_dir / "wnut17" / "wnut17train.conll").read_text(encoding="utf-8").splitlines():
        if line.strip():
            words.append(line.split("\t")[0])
        elif words:
            tweets.append(" ".join(words))
            words = []
    out += tweets[:: len(tweets) // per_file][:per_file]
    return out


def same_encoding(ours: Tokenizer, theirs, text: str, pair: str | None = None, add_special_tokens: bool = True,
                  decode: bool = True) -> None:
    """Assert ids, tokens, offsets, type ids, masks (and decoding both ways) agree; or that both refuse."""
    try:
        b = theirs.encode(text, pair, add_special_tokens=add_special_tokens)
    except Exception:
        try:
            ours.encode(text, pair, add_special_tokens=add_special_tokens)
        except SeqlabError:
            return
        raise AssertionError(f"tokenizers refuses {text!r} but seqlab encodes it") from None
    a = ours.encode(text, pair, add_special_tokens=add_special_tokens)
    where = f"text={text!r} pair={pair!r} add_special_tokens={add_special_tokens}"
    assert a.ids == b.ids, where
    assert a.tokens == b.tokens, where
    assert a.offsets == [tuple(o) for o in b.offsets], where
    assert a.type_ids == b.type_ids, where
    assert a.attention_mask == b.attention_mask, where
    assert a.special_tokens_mask == b.special_tokens_mask, where
    if decode:
        for skip in (True, False):
            assert ours.decode(a.ids, skip_special_tokens=skip) == theirs.decode(b.ids, skip_special_tokens=skip), \
                (where, skip)


def both_ways(theirs) -> tuple[Tokenizer, object]:
    """seqlab's reading of a tokenizers tokenizer, after checking that seqlab's file loads back in tokenizers
    and means the same there (saving must not change what a file means)."""
    import tokenizers as hf

    ours = Tokenizer.from_str(theirs.to_str())
    again = hf.Tokenizer.from_str(ours.to_str())
    assert json.loads(again.to_str()) == json.loads(theirs.to_str()) or _same_meaning(again, theirs)
    return ours, theirs


def _same_meaning(a, b) -> bool:
    """Two tokenizers files that differ in form (key order, defaults) but encode the sample texts alike."""
    for text in adversarial_texts():
        ea, eb = a.encode(text, "and a pair"), b.encode(text, "and a pair")
        if (ea.ids, ea.offsets, ea.type_ids) != (eb.ids, eb.offsets, eb.type_ids):
            return False
    return True

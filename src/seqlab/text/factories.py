"""Tokenizers made for a task, with seqlab's defaults written once: special tokens, unknown token, templates, sizes.

Every tokenizer seqlab trains is a ``Tokenizer`` (so its ``tokenizer.json`` is a Hugging Face file
that ``tokenizers`` loads with the same ids); this module holds the policy around them:

* ``train_tokenizer(kind, texts, ...)``: the five kinds of ``seqlab tokenize train`` (``bpe``,
  ``wordpiece``, ``unigram``, ``word``, ``char``) with their default special tokens, the unknown
  token each uses, and BERT's ``[CLS] $A [SEP]`` template for WordPiece;
* ``character_tokenizer(text)``: one id per distinct character of a text, in code-point order
  (nanoGPT's ``stoi``), no unknown token: a character outside the text is an error, not ``<unk>``;
* ``word_tokenizer(texts, ...)``: whole words (split by a pre-tokenizer) with ``<pad>`` = 0 and
  ``<unk>`` = 1 first, then words by decreasing count (ties by code point), optionally with
  ``<bos> $A <eos>`` around every encoding (what a decoder is trained to produce).

Special tokens are looked up by name (``tokenizer.token_to_id(PAD)``), never by a number.

Example:
    >>> tok = word_tokenizer(["the cat sat", "the dog"], min_count=1)
    >>> tok.encode("the cat ran").ids
    [2, 3, 1]
    >>> tok.token_to_id(PAD), tok.token_to_id(UNK)
    (0, 1)
    >>> character_tokenizer("abba\\n").encode("ab\\n").ids
    [1, 2, 0]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from seqlab.errors import SeqlabError
from seqlab.text import decoders, normalizers, pre_tokenizers
from seqlab.text.models import WordLevel
from seqlab.text.normalizers import Normalizer
from seqlab.text.pre_tokenizers import PreTokenizer
from seqlab.text.processors import TemplateProcessing
from seqlab.text.tokenizer import CHARACTER_PATTERN, Tokenizer
from seqlab.text.trainers import SPECIAL_TOKENS, BpeTrainer, UnigramTrainer, WordLevelTrainer, WordPieceTrainer

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
END_OF_TEXT = "<|endoftext|>"  # GPT-2's one special token
BERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
KINDS = ("bpe", "wordpiece", "unigram", "word", "char")
BYTES = 256  # the base alphabet of byte-level BPE


def default_specials(kind: str) -> list[str]:
    """The special tokens a tokenizer of ``kind`` gets when none are named."""
    _check_kind(kind)
    return {"bpe": [END_OF_TEXT], "wordpiece": list(BERT_SPECIALS), "unigram": [UNK]}.get(kind, list(SPECIAL_TOKENS))


def unknown_token(kind: str, specials: Sequence[str]) -> str:
    """The unknown token of ``kind``: its usual name when among ``specials``, else the first special."""
    usual = "[UNK]" if kind == "wordpiece" else UNK
    return usual if usual in specials or not specials else specials[0]


def merges_to_learn(vocab_size: int, specials: Sequence[str]) -> int:
    """How many merges byte-level BPE learns for ``vocab_size``: the rest after the 256 bytes and the specials."""
    merges = vocab_size - BYTES - len(specials)
    if merges < 0:
        raise SeqlabError(f"vocab_size: expected at least {BYTES + len(specials)} for byte-level BPE "
                          f"({BYTES} bytes + {len(specials)} special tokens), got {vocab_size}")
    return merges


def train_tokenizer(kind: str, texts: Iterable[str], *, vocab_size: int = 8000, min_frequency: int = 2,
                    max_size: int | None = None, specials: Sequence[str] | None = None, lowercase: bool = True,
                    on_merge: Callable[[int], None] | None = None) -> Tokenizer:
    """Train a tokenizer of ``kind`` (bpe, wordpiece, unigram, word, char) on ``texts``.

    Args:
        vocab_size: the size of bpe, wordpiece and unigram vocabularies (specials included).
        min_frequency: least count of a merged pair (bpe, wordpiece) or of a kept word (word, char).
        max_size: largest vocabulary of word and char tokenizers (None: no limit).
        specials: special tokens (None: ``default_specials(kind)``).
        lowercase: lower-case first (wordpiece, word).
        on_merge: called with the number of merges made so far (bpe, wordpiece), for progress.
    """
    _check_kind(kind)
    specials = list(default_specials(kind) if specials is None else specials)
    unk = unknown_token(kind, specials)
    if kind == "bpe":
        merges_to_learn(vocab_size, specials)
        tokenizer = Tokenizer.byte_level_bpe()
        trainer = BpeTrainer(vocab_size, min_frequency, specials, on_merge=on_merge)
    elif kind == "wordpiece":
        tokenizer = Tokenizer.wordpiece(lowercase)
        trainer = WordPieceTrainer(vocab_size, min_frequency, specials, unk_token=unk, on_merge=on_merge)
    elif kind == "unigram":
        tokenizer = Tokenizer.unigram()
        trainer = UnigramTrainer(vocab_size, specials, unk_token=unk)
    else:
        tokenizer = Tokenizer.word_level(lowercase) if kind == "word" else Tokenizer.character_level()
        if unk not in specials:
            specials = [unk, *specials]
        trainer = WordLevelTrainer(min_frequency, max_size, specials, unk_token=unk)
    tokenizer.train_from_iterator(texts, trainer)
    if kind == "wordpiece" and {"[CLS]", "[SEP]"} <= set(specials):
        ids = {name: tokenizer.token_to_id(name) for name in ("[CLS]", "[SEP]")}
        tokenizer.post_processor = TemplateProcessing("[CLS] $A [SEP]", "[CLS] $A [SEP] $B:1 [SEP]:1", ids)
    return tokenizer


def character_tokenizer(text: str, specials: Sequence[str] = ()) -> Tokenizer:
    """One id per distinct character of ``text`` in code-point order, after ``specials``; no unknown token.

    Encoding a character that ``text`` lacks raises a ``SeqlabError`` naming it (as ``tokenizers``
    raises for a WordLevel model whose unknown token is not in the vocabulary).
    """
    symbols = [*specials, *sorted(set(text) - set(specials))]
    if not symbols:
        raise SeqlabError("character_tokenizer: expected a non-empty text, got ''")
    tokenizer = Tokenizer(WordLevel({s: i for i, s in enumerate(symbols)}, unk_token=UNK),
                          pre_tokenizer=pre_tokenizers.Split(CHARACTER_PATTERN, is_regex=True),
                          decoder=decoders.Fuse())
    if specials:
        tokenizer.add_special_tokens(specials)
    return tokenizer


def word_tokenizer(texts: Iterable[str], min_count: int = 1, *, normalizer: Normalizer | None = None,
                   pre_tokenizer: PreTokenizer | None = None, bos_eos: bool = False,
                   max_size: int | None = None) -> Tokenizer:
    """Whole words: ``<pad>`` = 0, ``<unk>`` = 1 (and ``<bos>`` = 2, ``<eos>`` = 3), then by count.

    Args:
        texts: the training texts (a word seen fewer than ``min_count`` times becomes ``<unk>``).
        normalizer: applied first (e.g. ``Lowercase``); None keeps the text as it is.
        pre_tokenizer: how a text splits into words; default: on white space (``WhitespaceSplit``).
        bos_eos: put ``<bos>`` before and ``<eos>`` after every encoding (a post-processor template).
        max_size: the largest vocabulary, specials included (None: no limit).
    """
    specials = [PAD, UNK, BOS, EOS] if bos_eos else [PAD, UNK]
    if pre_tokenizer is None:
        pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = Tokenizer(WordLevel({PAD: 0, UNK: 1}), normalizer=normalizer, pre_tokenizer=pre_tokenizer)
    tokenizer.train_from_iterator(texts, WordLevelTrainer(min_count, max_size, specials, unk_token=UNK))
    if bos_eos:
        ids = {BOS: tokenizer.token_to_id(BOS), EOS: tokenizer.token_to_id(EOS)}
        tokenizer.post_processor = TemplateProcessing(f"{BOS} $A {EOS}", None, ids)
    return tokenizer


def lowercase_digits_to_zero() -> Normalizer:
    """Lower-case, then every digit becomes 0 (the word key of taggers: "2017" and "1999" share one id)."""
    return normalizers.Sequence([normalizers.Lowercase(), normalizers.Replace(r"\d", "0", is_regex=True)])


def special_id(tokenizer: Tokenizer, name: str) -> int:
    """The id of special token ``name``; a ``SeqlabError`` naming it when the tokenizer lacks it."""
    token_id = tokenizer.token_to_id(name)
    if token_id is None:
        raise SeqlabError(f"tokenizer: expected the special token {name!r} in the vocabulary, it is missing")
    return token_id


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise SeqlabError(f"tokenizer kind: expected one of {', '.join(KINDS)}, got {kind!r}")


__all__ = ["BERT_SPECIALS", "BOS", "END_OF_TEXT", "EOS", "KINDS", "PAD", "UNK", "character_tokenizer",
           "default_specials", "lowercase_digits_to_zero", "merges_to_learn", "special_id", "train_tokenizer",
           "unknown_token", "word_tokenizer"]

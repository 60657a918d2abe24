"""Trainers: piece counts -> a model with its vocabulary (and the special tokens to register).

``Tokenizer.train_from_iterator(texts, trainer)`` normalizes and pre-tokenizes the texts, counts the
distinct pieces and hands the counts to ``trainer.train``.

Vocabulary layouts:

- ``BpeTrainer``, byte-level: ids 0..255 are the bytes (id = byte value), then one id per merge,
  then the special tokens (GPT-2's layout: ``"a"`` is 97 whatever the corpus).
- ``BpeTrainer`` on characters and ``WordPieceTrainer``: special tokens first, then the alphabet
  sorted by code point, then the merges (Hugging Face's layout).
- ``WordLevelTrainer`` / ``CharacterTrainer``: the reserved specials first (``<pad>`` = 0,
  ``<unk>`` = 1, ...), then pieces by decreasing count, ties in code-point order.

Example:
    >>> from seqlab.text.tokenizer import Tokenizer
    >>> tok = Tokenizer.byte_level_bpe()
    >>> tok.train_from_iterator(["low lower lowest"], BpeTrainer(vocab_size=260))
    >>> tok.model.merges[:2]
    [('l', 'o'), ('lo', 'w')]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from seqlab.errors import SeqlabError
from seqlab.text.byte_level import BYTE_TO_CHAR, utf8
from seqlab.text.merges import learn_merges
from seqlab.text.models import BPE, WordLevel, WordPiece

#: The reserved special tokens of word- and character-level vocabularies, in id order.
SPECIAL_TOKENS = ("<pad>", "<unk>", "<bos>", "<eos>", "<mask>", "<cls>", "<sep>")


def _check_specials(special_tokens) -> list[str]:
    specials = list(special_tokens)
    if len(set(specials)) != len(specials) or not all(isinstance(s, str) and s for s in specials):
        raise SeqlabError(f"special_tokens: expected distinct non-empty strings, got {specials}")
    return specials


class BpeTrainer:
    """Learn byte-pair merges until the vocabulary holds ``vocab_size`` tokens.

    Args:
        vocab_size: size of the final vocabulary, alphabet and special tokens included.
        min_frequency: pairs seen fewer times are never merged (training may stop early).
        special_tokens: added at the end (byte-level) or the front (character BPE) of the vocabulary.
        limit_alphabet: character BPE only: keep the most frequent characters (ties to the lower code point).
        unk_token: character BPE only: the token for characters outside the alphabet.
        on_merge: called with the number of merges so far (for progress bars).
    """

    def __init__(self, vocab_size: int = 8000, min_frequency: int = 2, special_tokens=(),
                 limit_alphabet: int | None = None, unk_token: str | None = None,
                 on_merge: Callable[[int], None] | None = None):
        self.vocab_size, self.min_frequency = vocab_size, min_frequency
        self.special_tokens = _check_specials(special_tokens)
        self.limit_alphabet, self.unk_token, self.on_merge = limit_alphabet, unk_token, on_merge
        if unk_token is not None and unk_token not in self.special_tokens:
            self.special_tokens.insert(0, unk_token)

    def train(self, counts: Counter[str], byte_level: bool) -> tuple[BPE, list[str]]:
        if byte_level:
            # the pieces are text; their symbols are their UTF-8 bytes, and a byte's id is its value
            alphabet = list(BYTE_TO_CHAR)
            words = [list(utf8(word)) for word in counts]
            head: list[str] = []
        else:
            alphabet = _alphabet(counts, self.limit_alphabet)
            head = self.special_tokens
            index = {ch: len(head) + i for i, ch in enumerate(alphabet)}
            # characters outside a limited alphabet split the word: keep the known runs as words
            words = [[index[ch] for ch in word if ch in index] for word in counts]
        tokens = [*head, *alphabet]
        n_new = self.vocab_size - len(tokens) - (len(self.special_tokens) if byte_level else 0)
        if n_new < 0:
            raise SeqlabError(f"BpeTrainer: vocab_size {self.vocab_size} is smaller than the alphabet and special "
                              f"tokens ({len(tokens) + (len(self.special_tokens) if byte_level else 0)})")
        known: dict[str, int] = {token: i for i, token in enumerate(tokens)}

        def combine(a: int, b: int) -> tuple[int, bool]:
            merged = tokens[a] + tokens[b]
            if merged in known:
                return known[merged], False
            known[merged] = len(tokens)
            tokens.append(merged)
            return known[merged], True

        pairs = learn_merges(words, list(counts.values()), n_new, combine, self.min_frequency, self.on_merge)
        if byte_level:
            tokens.extend(self.special_tokens)
        vocab = {token: i for i, token in enumerate(tokens)}
        merges = [(tokens[a], tokens[b]) for a, b in pairs]
        return BPE(vocab, merges, unk_token=None if byte_level else self.unk_token), self.special_tokens


class WordPieceTrainer:
    """Learn a WordPiece vocabulary: BPE merges over symbols where continuations carry ``##``.

    Words start as ``w ##o ##r ##d``; merging ``(a, ##b)`` gives ``a + b`` (``##ab`` if ``a`` was a
    continuation). As in Hugging Face's trainer, pairs are scored by count (the original WordPiece
    scores count(ab) / (count(a) count(b)), which changes the order of merges, not the tokenizer's form).
    """

    def __init__(self, vocab_size: int = 8000, min_frequency: int = 2, special_tokens=("[PAD]", "[UNK]", "[CLS]",
                 "[SEP]", "[MASK]"), unk_token: str = "[UNK]", continuing_subword_prefix: str = "##",
                 limit_alphabet: int | None = None, on_merge: Callable[[int], None] | None = None):
        self.vocab_size, self.min_frequency = vocab_size, min_frequency
        self.special_tokens = _check_specials(special_tokens)
        if unk_token not in self.special_tokens:
            self.special_tokens.insert(0, unk_token)
        self.unk_token, self.prefix = unk_token, continuing_subword_prefix
        self.limit_alphabet, self.on_merge = limit_alphabet, on_merge

    def train(self, counts: Counter[str], byte_level: bool) -> tuple[WordPiece, list[str]]:
        if byte_level:
            raise SeqlabError("WordPieceTrainer: expected a character-level pre-tokenizer, got a byte-level one")
        prefix = self.prefix
        symbol_counts: Counter[str] = Counter()
        for word, n in counts.items():
            for i, ch in enumerate(word):
                symbol_counts[ch if i == 0 else prefix + ch] += n
        alphabet = _alphabet(symbol_counts, self.limit_alphabet, whole=True)
        tokens = [*self.special_tokens, *alphabet]
        known = {token: i for i, token in enumerate(tokens)}
        words = []
        for word in counts:
            symbols = [known.get(ch if i == 0 else prefix + ch) for i, ch in enumerate(word)]
            words.append([s for s in symbols if s is not None])

        def combine(a: int, b: int) -> tuple[int, bool]:
            right = tokens[b]
            merged = tokens[a] + (right[len(prefix):] if right.startswith(prefix) else right)
            if merged in known:
                return known[merged], False
            known[merged] = len(tokens)
            tokens.append(merged)
            return known[merged], True

        n_new = self.vocab_size - len(tokens)
        learn_merges(words, list(counts.values()), max(n_new, 0), combine, self.min_frequency, self.on_merge)
        return WordPiece({t: i for i, t in enumerate(tokens)}, self.unk_token, prefix), self.special_tokens


class WordLevelTrainer:
    """Keep the pieces seen at least ``min_frequency`` times, most frequent first, at most ``max_size`` in all.

    The reserved ``special_tokens`` come first (``<pad>`` = 0, ``<unk>`` = 1, ...); ties in count are
    broken by code point, so the vocabulary does not depend on the order of the corpus.
    """

    def __init__(self, min_frequency: int = 1, max_size: int | None = None, special_tokens=SPECIAL_TOKENS,
                 unk_token: str = "<unk>"):
        if max_size is not None and max_size < len(special_tokens):
            raise SeqlabError(f"WordLevelTrainer: max_size {max_size} is smaller than the {len(special_tokens)} "
                              "special tokens")
        self.min_frequency, self.max_size = min_frequency, max_size
        self.special_tokens = _check_specials(special_tokens)
        if unk_token not in self.special_tokens:
            raise SeqlabError(f"WordLevelTrainer: unk_token {unk_token!r} must be one of the special tokens")
        self.unk_token = unk_token

    def train(self, counts: Counter[str], byte_level: bool) -> tuple[WordLevel, list[str]]:
        if byte_level:
            raise SeqlabError("WordLevelTrainer: expected a character-level pre-tokenizer, got a byte-level one")
        kept = sorted((item for item in counts.items() if item[1] >= self.min_frequency and item[0]
                       not in self.special_tokens), key=lambda item: (-item[1], item[0]))
        tokens = [*self.special_tokens, *(word for word, _ in kept)]
        if self.max_size is not None:
            tokens = tokens[:self.max_size]
        return WordLevel({t: i for i, t in enumerate(tokens)}, self.unk_token), self.special_tokens


def _alphabet(counts: Counter[str], limit: int | None, whole: bool = False) -> list[str]:
    """The characters of ``counts`` (or its keys when ``whole``), the ``limit`` most frequent, sorted."""
    frequency: Counter[str] = Counter()
    if whole:
        frequency = counts
    else:
        for word, n in counts.items():
            for ch in word:
                frequency[ch] += n
    symbols = sorted(frequency, key=lambda s: (-frequency[s], s))
    if limit is not None:
        symbols = symbols[:limit]
    return sorted(symbols)

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

import math
from collections import Counter
from collections.abc import Callable

from seqlab.errors import SeqlabError
from seqlab.text.byte_level import BYTE_TO_CHAR, utf8
from seqlab.text.merges import learn_merges
from seqlab.text.models import BPE, Unigram, WordLevel, WordPiece

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
        layout: byte-level only. ``"bytes"``: byte ``b`` has id ``b``, special tokens come last (GPT-2,
            minbpe). ``"tokenizers"``: special tokens first, then the 256 byte characters sorted by code
            point, as Hugging Face's ``BpeTrainer`` with ``ByteLevel.alphabet()`` numbers them; since ties
            are broken on ids, this layout learns exactly the merges ``tokenizers`` learns.
    """

    def __init__(self, vocab_size: int = 8000, min_frequency: int = 2, special_tokens=(),
                 limit_alphabet: int | None = None, unk_token: str | None = None,
                 on_merge: Callable[[int], None] | None = None, layout: str = "bytes"):
        if layout not in ("bytes", "tokenizers"):
            raise SeqlabError(f"BpeTrainer layout: expected 'bytes' or 'tokenizers', got {layout!r}")
        self.layout = layout
        self.vocab_size, self.min_frequency = vocab_size, min_frequency
        self.special_tokens = _check_specials(special_tokens)
        self.limit_alphabet, self.unk_token, self.on_merge = limit_alphabet, unk_token, on_merge
        if unk_token is not None and unk_token not in self.special_tokens:
            self.special_tokens.insert(0, unk_token)

    def train(self, counts: Counter[str], byte_level: bool) -> tuple[BPE, list[str]]:
        specials_last = byte_level and self.layout == "bytes"
        if specials_last:
            # the pieces are text; their symbols are their UTF-8 bytes, and a byte's id is its value
            alphabet = list(BYTE_TO_CHAR)
            words = [list(utf8(word)) for word in counts]
            head: list[str] = []
        elif byte_level:
            alphabet = sorted(BYTE_TO_CHAR)
            head = self.special_tokens
            id_of_byte = [len(head) + alphabet.index(ch) for ch in BYTE_TO_CHAR]
            words = [[id_of_byte[b] for b in utf8(word)] for word in counts]
        else:
            alphabet = _alphabet(counts, self.limit_alphabet)
            head = self.special_tokens
            index = {ch: len(head) + i for i, ch in enumerate(alphabet)}
            # characters outside a limited alphabet are skipped (as tokenizers does)
            words = [[index[ch] for ch in word if ch in index] for word in counts]
        tokens = [*head, *alphabet]
        n_new = self.vocab_size - len(tokens) - (len(self.special_tokens) if specials_last else 0)
        if n_new < 0:
            raise SeqlabError(f"BpeTrainer: vocab_size {self.vocab_size} is smaller than the alphabet and special "
                              f"tokens ({len(tokens) + (len(self.special_tokens) if specials_last else 0)})")
        known: dict[str, int] = {token: i for i, token in enumerate(tokens)}

        def combine(a: int, b: int) -> tuple[int, bool]:
            merged = tokens[a] + tokens[b]
            if merged in known:
                return known[merged], False
            known[merged] = len(tokens)
            tokens.append(merged)
            return known[merged], True

        pairs = learn_merges(words, list(counts.values()), n_new, combine, self.min_frequency, self.on_merge)
        if specials_last:
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


class UnigramTrainer:
    """Learn a Unigram vocabulary by EM, shrinking a large seed vocabulary (Kudo, 2018; SentencePiece's recipe).

    1. Seed: every character, plus the substrings of 2..``max_piece_length`` characters seen at least
       twice, the ``seed_size`` best by count x length.
    2. EM: the E-step computes each piece's expected count over all segmentations of each word
       (forward-backward over the lattice of pieces); the M-step sets log P(p) = log(count(p) / total).
    3. Prune: a piece's loss is how much the corpus log-likelihood drops when it is removed and the
       best segmentation of the piece itself is used instead, ``count(p) * (log P(p) - sum log P(alt))``;
       keep the best ``shrinking_factor`` share (characters always stay) and repeat until
       ``vocab_size`` pieces remain.

    Special tokens come first (score 0), then the pieces by decreasing log-probability.
    """

    def __init__(self, vocab_size: int = 8000, special_tokens=("<unk>",), unk_token: str = "<unk>",
                 max_piece_length: int = 16, seed_size: int = 100_000, shrinking_factor: float = 0.75,
                 em_iterations: int = 2):
        self.vocab_size, self.unk_token = vocab_size, unk_token
        self.special_tokens = _check_specials(special_tokens)
        if unk_token not in self.special_tokens:
            self.special_tokens.insert(0, unk_token)
        self.max_piece_length, self.seed_size = max_piece_length, seed_size
        self.shrinking_factor, self.em_iterations = shrinking_factor, em_iterations

    def train(self, counts: Counter[str], byte_level: bool) -> tuple[Unigram, list[str]]:
        if byte_level:
            raise SeqlabError("UnigramTrainer: expected a character-level pre-tokenizer, got a byte-level one")
        words = [(word, n) for word, n in counts.items() if word]
        characters = {ch for word, _ in words for ch in word}
        target = self.vocab_size - len(self.special_tokens)
        if target < len(characters):
            raise SeqlabError(f"UnigramTrainer: vocab_size {self.vocab_size} leaves room for {target} pieces, fewer "
                              f"than the {len(characters)} characters of the corpus")
        scores = self._seed(words)
        while True:
            for _ in range(self.em_iterations):
                scores = _em_step(words, scores, characters)
            if len(scores) <= target:
                break
            scores = self._prune(words, scores, characters, max(target, int(len(scores) * self.shrinking_factor)))
        pieces = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        vocab = [(token, 0.0) for token in self.special_tokens] + pieces
        return Unigram(vocab, unk_id=self.special_tokens.index(self.unk_token)), self.special_tokens

    def _seed(self, words: list[tuple[str, int]]) -> dict[str, float]:
        frequency: Counter[str] = Counter()
        for word, n in words:
            for i in range(len(word)):
                for j in range(i + 1, min(len(word), i + self.max_piece_length) + 1):
                    frequency[word[i:j]] += n
        singles = {p: c for p, c in frequency.items() if len(p) == 1}
        longer = sorted(((p, c) for p, c in frequency.items() if len(p) > 1 and c >= 2),
                        key=lambda item: (-item[1] * len(item[0]), item[0]))[:self.seed_size]
        chosen = {**singles, **dict(longer)}
        total = sum(chosen.values())
        return {p: math.log(c / total) for p, c in chosen.items()}

    def _prune(self, words, scores: dict[str, float], characters: set[str], keep: int) -> dict[str, float]:
        expected = _expected_counts(words, scores)
        loss = {}
        for piece, score in scores.items():
            if piece in characters:
                continue
            without = dict(scores)
            del without[piece]
            alternative = _best_score(piece, without)
            loss[piece] = expected.get(piece, 0.0) * (score - alternative)
        ranked = sorted(loss, key=lambda p: (-loss[p], p))[:max(keep - len(characters), 0)]
        return {p: scores[p] for p in [*characters, *ranked]}


def _lattice(word: str, scores: dict[str, float], longest: int):
    """Every (start, end, piece) of ``word`` that is in ``scores``."""
    return [(i, j, word[i:j]) for i in range(len(word)) for j in range(i + 1, min(len(word), i + longest) + 1)
            if word[i:j] in scores]


def _logsumexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    high, low = (a, b) if a > b else (b, a)
    return high + math.log1p(math.exp(low - high))


def _expected_counts(words, scores: dict[str, float]) -> dict[str, float]:
    """E-step: sum over words of n_w * P(piece used | word), by forward-backward in log space."""
    longest = max(map(len, scores))
    expected: dict[str, float] = {}
    for word, n in words:
        edges = _lattice(word, scores, longest)
        m = len(word)
        alpha = [-math.inf] * (m + 1)
        beta = [-math.inf] * (m + 1)
        alpha[0], beta[m] = 0.0, 0.0
        for i, j, piece in edges:  # sorted by start: alpha[i] is final when used
            alpha[j] = _logsumexp(alpha[j], alpha[i] + scores[piece])
        for i, j, piece in sorted(edges, key=lambda e: -e[1]):
            beta[i] = _logsumexp(beta[i], beta[j] + scores[piece])
        z = alpha[m]
        for i, j, piece in edges:
            posterior = math.exp(alpha[i] + scores[piece] + beta[j] - z)
            expected[piece] = expected.get(piece, 0.0) + n * posterior
    return expected


def _em_step(words, scores: dict[str, float], characters: set[str]) -> dict[str, float]:
    """One EM iteration; pieces whose expected count falls under 0.5 are dropped (characters stay)."""
    expected = _expected_counts(words, scores)
    kept = {p: c for p, c in expected.items() if c >= 0.5 or p in characters}
    for ch in characters:
        kept.setdefault(ch, 0.5)
    total = sum(kept.values())
    return {p: math.log(c / total) for p, c in kept.items()}


def _best_score(text: str, scores: dict[str, float]) -> float:
    """Score of the best segmentation of ``text`` under ``scores`` (characters are always there)."""
    best = [0.0] + [-math.inf] * len(text)
    longest = max(map(len, scores))
    for j in range(1, len(text) + 1):
        for i in range(max(0, j - longest), j):
            score = scores.get(text[i:j])
            if score is not None and best[i] + score > best[j]:
                best[j] = best[i] + score
    return best[-1]


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

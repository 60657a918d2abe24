"""Tokenizer models: one piece (a pre-tokenized "word") -> tokens, each with its id and character span.

``BPE`` applies learned merges, lowest rank first; ``WordPiece`` takes the longest vocabulary entry
at each position (``##`` marks a continuation); ``WordLevel`` looks the whole piece up. Each
serialises to the ``"model"`` entry of Hugging Face's ``tokenizer.json``.

A token is ``(id, text, start, end)`` with ``[start, end)`` the characters of the piece it covers.

Example:
    >>> bpe = BPE({"a": 0, "b": 1, "ab": 2}, [("a", "b")])
    >>> [(token_id, text) for token_id, text, _, _ in bpe.tokenize("aba")]
    [(2, 'ab'), (0, 'a')]
"""

from __future__ import annotations

import itertools
import math
import random

from seqlab.errors import SeqlabError

Token = tuple[int, str, int, int]


class Model:
    """Base class of the models: a vocabulary plus ``tokenize(piece) -> list[Token]``."""

    vocab: dict[str, int]

    def tokenize(self, piece: str) -> list[Token]:
        raise NotImplementedError

    def to_json(self) -> dict:
        raise NotImplementedError

    def token_to_id(self, token: str) -> int | None:
        return self.vocab.get(token)

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.to_json() == self.to_json()

    def _unk_id(self, unk_token: str | None) -> int | None:
        if unk_token is None:
            return None
        if unk_token not in self.vocab:
            raise SeqlabError(f"unk_token {unk_token!r} is not in the vocabulary")
        return self.vocab[unk_token]


class BPE(Model):
    """Byte-pair encoding: split a piece into characters, then apply the merges by rank.

    At each step the adjacent pair with the lowest merge rank is merged everywhere in the piece,
    left to right, until no adjacent pair has a merge. Characters missing from the vocabulary become
    ``unk_token`` (consecutive ones fused when ``fuse_unk``), or are dropped when there is none.

    Args:
        vocab: token -> id.
        merges: ``(left, right)`` pairs in the order learned (rank = position).
        unk_token: token for characters outside the vocabulary.
        continuing_subword_prefix, end_of_word_suffix: marks added to the non-first characters and
            to the last character of a piece before merging (as in ``tokenizers``).
        fuse_unk: merge runs of unknown characters into one ``unk_token``.
        ignore_merges: take a piece that is itself in the vocabulary as one token, skipping the merges.
        byte_fallback: spell unknown characters as their UTF-8 bytes, tokens ``<0x00>``..``<0xFF>``
            (Llama's and Mistral's tokenizers).
    """

    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]], unk_token: str | None = None,
                 continuing_subword_prefix: str | None = None, end_of_word_suffix: str | None = None,
                 fuse_unk: bool = False, ignore_merges: bool = False, byte_fallback: bool = False):
        self.vocab = dict(vocab)
        self.merges = [tuple(pair) for pair in merges]
        self.unk_token, self.fuse_unk, self.ignore_merges = unk_token, fuse_unk, ignore_merges
        self.byte_fallback = byte_fallback
        self.continuing_subword_prefix, self.end_of_word_suffix = continuing_subword_prefix, end_of_word_suffix
        self.id_to_token = {i: token for token, i in self.vocab.items()}
        self._unk = self._unk_id(unk_token)
        # (left id, right id) -> (rank, merged id): the lookup the merge loop needs
        self.ranks: dict[tuple[int, int], tuple[int, int]] = {}
        prefix_length = len(continuing_subword_prefix or "")
        for rank, (left, right) in enumerate(self.merges):
            if left not in self.vocab or right not in self.vocab:
                raise SeqlabError(f"BPE merge {rank} ({left!r}, {right!r}): expected both tokens in the vocabulary")
            merged = left + (right[prefix_length:] if prefix_length and right.startswith(
                continuing_subword_prefix) else right)
            if merged not in self.vocab:
                raise SeqlabError(f"BPE merge {rank} ({left!r}, {right!r}): the result {merged!r} is not in the "
                                  "vocabulary")
            self.ranks.setdefault((self.vocab[left], self.vocab[right]), (rank, self.vocab[merged]))

    def tokenize(self, piece: str) -> list[Token]:
        if not piece:
            return []
        if self.ignore_merges and piece in self.vocab:
            return [(self.vocab[piece], piece, 0, len(piece))]
        ids, spans = self._symbols(piece)
        ranks = self.ranks
        while len(ids) > 1:
            best, best_rank = None, None
            for pair in itertools.pairwise(ids):
                found = ranks.get(pair)
                if found is not None and (best_rank is None or found[0] < best_rank):
                    best, best_rank = pair, found[0]
            if best is None:
                break
            a, b = best
            new = ranks[best][1]
            merged_ids, merged_spans, i = [], [], 0
            while i < len(ids):
                if i + 1 < len(ids) and ids[i] == a and ids[i + 1] == b:
                    merged_ids.append(new)
                    merged_spans.append((spans[i][0], spans[i + 1][1]))
                    i += 2
                else:
                    merged_ids.append(ids[i])
                    merged_spans.append(spans[i])
                    i += 1
            ids, spans = merged_ids, merged_spans
        id_to_token = self.id_to_token
        return [(i, id_to_token[i], start, end) for i, (start, end) in zip(ids, spans)]

    def _symbols(self, piece: str) -> tuple[list[int], list[tuple[int, int]]]:
        """The initial symbols: one per character (with prefix/suffix marks), unknowns mapped or dropped.

        An unknown character becomes its UTF-8 bytes as ``<0xXX>`` tokens when ``byte_fallback`` (and the
        vocabulary has them), else ``unk_token``, which waits for the next known character (or the end)
        so that a run of unknowns can be fused -- the order in which ``tokenizers`` emits them.
        """
        ids: list[int] = []
        spans: list[tuple[int, int]] = []
        last = len(piece) - 1
        pending: tuple[int, int] | None = None  # (start, end) of unknown characters not yet emitted
        for i, ch in enumerate(piece):
            symbol = ch
            if i > 0 and self.continuing_subword_prefix:
                symbol = self.continuing_subword_prefix + symbol
            if i == last and self.end_of_word_suffix:
                symbol = symbol + self.end_of_word_suffix
            token_id = self.vocab.get(symbol)
            if token_id is not None:
                if pending is not None:
                    ids.append(self._unk)
                    spans.append(pending)
                    pending = None
                ids.append(token_id)
                spans.append((i, i + 1))
                continue
            if self.byte_fallback:
                byte_ids = [self.vocab.get(f"<0x{byte:02X}>") for byte in symbol.encode("utf-8")]
                if None not in byte_ids:
                    ids.extend(byte_ids)
                    spans.extend([(i, i + 1)] * len(byte_ids))
                    continue
            if self._unk is None:
                continue
            if pending is not None and self.fuse_unk:
                pending = (pending[0], i + 1)
                continue
            if pending is not None:
                ids.append(self._unk)
                spans.append(pending)
            pending = (i, i + 1)
        if pending is not None:
            ids.append(self._unk)
            spans.append(pending)
        return ids, spans

    def to_json(self) -> dict:
        return {"type": "BPE", "dropout": None, "unk_token": self.unk_token,
                "continuing_subword_prefix": self.continuing_subword_prefix,
                "end_of_word_suffix": self.end_of_word_suffix, "fuse_unk": self.fuse_unk,
                "byte_fallback": self.byte_fallback,
                "ignore_merges": self.ignore_merges, "vocab": self.vocab, "merges": [list(m) for m in self.merges]}


class WordPiece(Model):
    """WordPiece (BERT): at each position take the longest vocabulary entry; later ones carry ``##``.

    A piece longer than ``max_input_chars_per_word`` characters, or one with a position where no
    entry matches, becomes the single token ``unk_token``.
    """

    def __init__(self, vocab: dict[str, int], unk_token: str = "[UNK]", continuing_subword_prefix: str = "##",
                 max_input_chars_per_word: int = 100):
        self.vocab = dict(vocab)
        self.unk_token, self.continuing_subword_prefix = unk_token, continuing_subword_prefix
        self.max_input_chars_per_word = max_input_chars_per_word
        self._unk = self._unk_id(unk_token)
        self._longest = max((len(token) for token in self.vocab), default=1)

    def tokenize(self, piece: str) -> list[Token]:
        if not piece:
            return []
        unknown = [(self._unk, self.unk_token, 0, len(piece))]
        if len(piece) > self.max_input_chars_per_word:
            return unknown
        tokens: list[Token] = []
        start, n = 0, len(piece)
        while start < n:
            prefix = self.continuing_subword_prefix if start > 0 else ""
            end = min(n, start + self._longest)
            while end > start:
                candidate = prefix + piece[start:end]
                if candidate in self.vocab:
                    tokens.append((self.vocab[candidate], candidate, start, end))
                    break
                end -= 1
            if end == start:
                return unknown
            start = end
        return tokens

    def to_json(self) -> dict:
        return {"type": "WordPiece", "unk_token": self.unk_token,
                "continuing_subword_prefix": self.continuing_subword_prefix,
                "max_input_chars_per_word": self.max_input_chars_per_word, "vocab": self.vocab}


class WordLevel(Model):
    """One token per piece: its id in the vocabulary, or ``unk_token``'s.

    As in ``tokenizers``, ``unk_token`` need not be in the vocabulary: then a piece outside it is an
    error when it is met (a character-level vocabulary of a whole text has no unknown characters).
    """

    def __init__(self, vocab: dict[str, int], unk_token: str | None = "<unk>"):
        self.vocab = dict(vocab)
        self.unk_token = unk_token
        self._unk = self.vocab.get(unk_token) if unk_token is not None else None

    def tokenize(self, piece: str) -> list[Token]:
        if not piece:
            return []
        token_id = self.vocab.get(piece)
        if token_id is not None:
            return [(token_id, piece, 0, len(piece))]
        if self._unk is None:
            raise SeqlabError(f"{piece!r} is not in the vocabulary (which has no {self.unk_token or 'unknown'} token)")
        return [(self._unk, self.unk_token, 0, len(piece))]

    def to_json(self) -> dict:
        return {"type": "WordLevel", "vocab": self.vocab, "unk_token": self.unk_token}


class Unigram(Model):
    """Unigram language model (Kudo, 2018): the segmentation that maximises the sum of piece log-probabilities.

        best(x) = argmax_{x = p_1 ... p_k} sum_i log P(p_i)

    found by dynamic programming over the end positions of the piece: ``B[e] = max_s B[s] + log P(x[s:e])``.
    A position where no one-character piece exists gets ``unk_id`` with score ``min(log P) - 10`` (as
    SentencePiece and ``tokenizers`` do), and runs of unknown characters are fused into one token.
    Ties keep the earliest start, i.e. the longest last piece (``tokenizers``' order).

    Args:
        vocab: ``(piece, log-probability)`` pairs; a piece's id is its index.
        unk_id: id of the unknown token (``None``: an unknown character is an error).
    """

    UNK_PENALTY = 10.0

    def __init__(self, vocab: list[tuple[str, float]], unk_id: int | None = 0):
        self.pieces = [(str(piece), float(score)) for piece, score in vocab]
        self.vocab = {piece: i for i, (piece, _) in enumerate(self.pieces)}
        if unk_id is not None and not 0 <= unk_id < len(self.pieces):
            raise SeqlabError(f"Unigram: unk_id {unk_id} is outside the vocabulary of {len(self.pieces)} pieces")
        self.unk_id = unk_id
        self._scores = {piece: score for piece, score in self.pieces}
        self._unk_score = (min(self._scores.values()) if self.pieces else 0.0) - self.UNK_PENALTY
        self._longest = max((len(piece) for piece, _ in self.pieces), default=1)

    def tokenize(self, piece: str) -> list[Token]:
        n = len(piece)
        if n == 0:
            return []
        scores = self._scores
        best = [0.0] * (n + 1)  # B[e]: best total score of x[:e]
        start_of: list[int | None] = [None] * (n + 1)
        is_unk = [False] * (n + 1)
        for s in range(n):
            till_here = best[s]
            has_single = False
            for e in range(s + 1, min(n, s + self._longest) + 1):
                score = scores.get(piece[s:e])
                if score is None:
                    continue
                candidate = score + till_here
                if start_of[e] is None or candidate > best[e]:
                    best[e], start_of[e], is_unk[e] = candidate, s, False
                has_single = has_single or e == s + 1
            if not has_single:
                if self.unk_id is None:
                    raise SeqlabError(f"Unigram: {piece[s]!r} is not in the vocabulary and there is no unk_id")
                candidate = self._unk_score + till_here
                if start_of[s + 1] is None or candidate > best[s + 1]:
                    best[s + 1], start_of[s + 1], is_unk[s + 1] = candidate, s, True
        spans: list[tuple[int, int]] = []
        e = n
        while e > 0:
            s = start_of[e]
            unknown = is_unk[e] or self.vocab.get(piece[s:e]) == self.unk_id
            if unknown and spans and spans[-1][2]:
                spans[-1] = (s, spans[-1][1], True)  # fuse runs of unknown characters
            else:
                spans.append((s, e, unknown))
            e = s
        tokens = []
        for s, e, _ in reversed(spans):
            text = piece[s:e]
            tokens.append((self.vocab.get(text, self.unk_id), text, s, e))
        return tokens

    def sample(self, piece: str, alpha: float = 0.1, rng: random.Random | None = None) -> list[Token]:
        """One segmentation drawn with probability proportional to ``exp(alpha * sum_i log P(p_i))``.

        Subword regularisation (Kudo, 2018): training on sampled segmentations instead of the best one.
        Forward filtering, ``F[e] = logsumexp_s F[s] + alpha * log P(x[s:e])``, then backward sampling:
        the last piece ends at ``e = n`` and starts at ``s`` with probability
        ``exp(F[s] + alpha log P(x[s:e]) - F[e])``, and so on back to the start.
        ``alpha -> infinity`` gives the best segmentation; ``alpha = 0`` all segmentations equally likely.
        Unknown characters are single-character pieces scored like ``tokenize``'s, not fused.
        """
        rng = rng or random.Random()
        n = len(piece)
        if n == 0:
            return []
        edges: list[list[tuple[int, float, bool]]] = [[] for _ in range(n + 1)]  # per end: (start, score, unk)
        for s in range(n):
            has_single = False
            for e in range(s + 1, min(n, s + self._longest) + 1):
                score = self._scores.get(piece[s:e])
                if score is not None:
                    edges[e].append((s, score, False))
                    has_single = has_single or e == s + 1
            if not has_single:
                if self.unk_id is None:
                    raise SeqlabError(f"Unigram: {piece[s]!r} is not in the vocabulary and there is no unk_id")
                edges[s + 1].append((s, self._unk_score, True))
        forward = [0.0] + [-math.inf] * n
        for e in range(1, n + 1):
            terms = [forward[s] + alpha * score for s, score, _ in edges[e]]
            top = max(terms)
            forward[e] = top + math.log(sum(math.exp(t - top) for t in terms))
        tokens: list[Token] = []
        e = n
        while e > 0:
            weights = [math.exp(forward[s] + alpha * score - forward[e]) for s, score, _ in edges[e]]
            s, _, unknown = edges[e][rng.choices(range(len(weights)), weights)[0]]
            text = piece[s:e]
            tokens.append((self.unk_id if unknown else self.vocab[text], text, s, e))
            e = s
        return tokens[::-1]

    def to_json(self) -> dict:
        return {"type": "Unigram", "unk_id": self.unk_id, "vocab": [[p, s] for p, s in self.pieces],
                "byte_fallback": False}


def model_from_json(data: dict) -> Model:
    """Build a model from HF ``tokenizer.json``'s ``"model"`` entry."""
    kind = data.get("type")
    if kind == "BPE" or (kind is None and "merges" in data):
        if data.get("dropout"):
            raise SeqlabError("BPE: dropout is not supported; expected null")
        merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in data.get("merges", [])]
        return BPE(data["vocab"], merges, data.get("unk_token"), data.get("continuing_subword_prefix"),
                   data.get("end_of_word_suffix"), data.get("fuse_unk", False), data.get("ignore_merges", False),
                   data.get("byte_fallback", False))
    if kind == "WordPiece":
        return WordPiece(data["vocab"], data.get("unk_token", "[UNK]"), data.get("continuing_subword_prefix", "##"),
                         data.get("max_input_chars_per_word", 100))
    if kind == "WordLevel":
        return WordLevel(data["vocab"], data.get("unk_token"))
    if kind == "Unigram":
        if data.get("byte_fallback"):
            raise SeqlabError("Unigram: byte_fallback is not supported; expected false")
        return Unigram([tuple(item) for item in data["vocab"]], data.get("unk_id"))
    raise SeqlabError(f"model: expected one of BPE, WordPiece, WordLevel, Unigram; got {kind!r}")

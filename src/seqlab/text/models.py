"""Tokenizer models: one piece (a pre-tokenized "word") -> tokens, each with its id and character span.

``BPE`` applies learned merges, lowest rank first; ``WordPiece`` takes the longest vocabulary entry
at each position (``##`` marks a continuation); ``WordLevel`` looks the whole piece up; ``Unigram``
finds the most likely segmentation. Each serialises to the ``"model"`` entry of Hugging Face's
``tokenizer.json`` and behaves as ``tokenizers`` 0.23 does on the same entry, including its quirks
(a later duplicate merge overrides an earlier one; an unknown token is only an error when needed).

A token is ``(id, text, start, end)`` with ``[start, end)`` the characters of the piece it covers.

Example:
    >>> bpe = BPE({"a": 0, "b": 1, "ab": 2}, [("a", "b")])
    >>> [(token_id, text) for token_id, text, _, _ in bpe.tokenize("aba")]
    [(2, 'ab'), (0, 'a')]
"""

from __future__ import annotations

import heapq
import math
import random

from seqlab.errors import SeqlabError
from seqlab.text.json_fields import U32_MAX as _U32_MAX
from seqlab.text.json_fields import Fields, describe, is_integer

Token = tuple[int, str, int, int]


def check_vocab(vocab: dict, where: str) -> dict[str, int]:
    """A token -> id dict with string keys and distinct ids in 0..2**32-1 (else a ``SeqlabError``)."""
    if not isinstance(vocab, dict):
        raise SeqlabError(f"{where}: expected an object of token -> id, got {describe(vocab)}")
    seen: dict[int, str] = {}
    for token, token_id in vocab.items():
        if not is_integer(token_id) or not 0 <= token_id <= _U32_MAX:
            raise SeqlabError(f"{where}[{token!r}]: expected an id from 0 to {_U32_MAX}, got {describe(token_id)}")
        if token_id in seen:
            raise SeqlabError(f"{where}: id {token_id} is given to both {seen[token_id]!r} and {token!r}")
        seen[token_id] = token
    return vocab


class Model:
    """Base class of the models: a vocabulary plus ``tokenize(piece) -> list[Token]``."""

    vocab: dict[str, int]

    def tokenize(self, piece: str) -> list[Token]:
        raise NotImplementedError

    def to_json(self) -> dict:
        raise NotImplementedError

    def token_to_id(self, token: str) -> int | None:
        return self.vocab.get(token)

    def id_to_token(self, token_id: int) -> str | None:
        return self._by_id().get(token_id)

    def _by_id(self) -> dict[int, str]:
        by_id = getattr(self, "_id_to_token", None)
        if by_id is None:
            by_id = self._id_to_token = {i: t for t, i in self.vocab.items()}
        return by_id

    def vocab_size(self) -> int:
        return len(self.vocab)

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.to_json() == self.to_json()


class BPE(Model):
    """Byte-pair encoding: split a piece into characters, then apply the merges by rank.

    At each step the adjacent pair with the lowest merge rank is merged everywhere in the piece,
    left to right, until no adjacent pair has a merge. Characters missing from the vocabulary become
    ``unk_token`` (consecutive ones fused when ``fuse_unk``), or are dropped when there is none.

    Args:
        vocab: token -> id.
        merges: ``(left, right)`` pairs in the order learned (rank = position; a pair listed twice keeps
            its last rank, as in ``tokenizers``).
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
        self.vocab = dict(check_vocab(vocab, "BPE vocab"))
        self.merges = [tuple(pair) for pair in merges]
        self.unk_token, self.fuse_unk, self.ignore_merges = unk_token, fuse_unk, ignore_merges
        self.byte_fallback = byte_fallback
        self.continuing_subword_prefix, self.end_of_word_suffix = continuing_subword_prefix, end_of_word_suffix
        self.id_to_token_map = {i: token for token, i in self.vocab.items()}
        # (left id, right id) -> (rank, merged id): the lookup the merge loop needs
        self.ranks: dict[tuple[int, int], tuple[int, int]] = {}
        prefix = (continuing_subword_prefix or "").encode("utf-8")
        for rank, (left, right) in enumerate(self.merges):
            for side in (left, right):
                if side not in self.vocab:
                    raise SeqlabError(f"BPE merges[{rank}] ({left!r}, {right!r}): {side!r} is not in the vocabulary")
            rest = right.encode("utf-8")[len(prefix):]  # tokenizers drops the prefix's bytes unchecked
            try:
                merged = left + rest.decode("utf-8")
            except UnicodeDecodeError:
                raise SeqlabError(f"BPE merges[{rank}] ({left!r}, {right!r}): the right side does not start with "
                                  f"the continuing_subword_prefix {continuing_subword_prefix!r}") from None
            if merged not in self.vocab:
                raise SeqlabError(f"BPE merges[{rank}] ({left!r}, {right!r}): the result {merged!r} is not in the "
                                  "vocabulary")
            self.ranks[self.vocab[left], self.vocab[right]] = (rank, self.vocab[merged])
        self._byte_ids: list[int | None] | None = None

    def id_to_token(self, token_id: int) -> str | None:
        return self.id_to_token_map.get(token_id)

    def _unk_id(self) -> int:
        unk = self.vocab.get(self.unk_token)
        if unk is None:
            raise SeqlabError(f"BPE: unk_token {self.unk_token!r} is not in the vocabulary (needed for an unknown "
                              "character)")
        return unk

    def tokenize(self, piece: str) -> list[Token]:
        if not piece:
            return []
        if self.ignore_merges and piece in self.vocab:
            return [(self.vocab[piece], piece, 0, len(piece))]
        ids, lengths = self._symbols(piece)
        if len(ids) > 1:
            ids, lengths = _merge(ids, lengths, self.ranks)
        # spans run on from the symbols' byte lengths, as in tokenizers: a dropped unknown character shifts
        # the spans after it
        id_to_token, out, position = self.id_to_token_map, [], 0
        if piece.isascii():
            for token_id, length in zip(ids, lengths):
                out.append((token_id, id_to_token[token_id], min(position, len(piece)),
                            min(position + length, len(piece))))
                position += length
            return out
        char_of_byte = [i for i, ch in enumerate(piece) for _ in ch.encode("utf-8")]
        last = len(char_of_byte)
        for token_id, length in zip(ids, lengths):
            start, end = min(position, last - 1), min(position + length, last)
            out.append((token_id, id_to_token[token_id], char_of_byte[start], char_of_byte[end - 1] + 1))
            position += length
        return out

    def _symbols(self, piece: str) -> tuple[list[int], list[int]]:
        """The initial symbols (ids) and their lengths in UTF-8 bytes: one per character, unknowns mapped or dropped.

        Prefix and suffix marks are added before the lookup. An unknown character becomes its UTF-8 bytes as
        ``<0xXX>`` tokens (one byte long each) when ``byte_fallback`` and the vocabulary has them all, else
        ``unk_token``, which waits for the next known character (or the end) so that a run of unknowns can be
        fused -- the order in which ``tokenizers`` emits them; with no ``unk_token`` it is dropped.
        """
        ids: list[int] = []
        lengths: list[int] = []
        last = len(piece) - 1
        pending: list[int] | None = None  # [unk id, byte length] of unknown characters not yet emitted
        vocab, prefix, suffix = self.vocab, self.continuing_subword_prefix, self.end_of_word_suffix
        for i, ch in enumerate(piece):
            symbol = ch
            if i > 0 and prefix:
                symbol = prefix + symbol
            if i == last and suffix:
                symbol = symbol + suffix
            size = 1 if ch < "\x80" else len(ch.encode("utf-8"))
            token_id = vocab.get(symbol)
            if token_id is not None:
                if pending is not None:
                    ids.append(pending[0])
                    lengths.append(pending[1])
                    pending = None
                ids.append(token_id)
                lengths.append(size)
                continue
            if self.byte_fallback:
                raw = symbol.encode("utf-8")
                byte_ids = [vocab.get(f"<0x{byte:02X}>") for byte in raw]
                if None not in byte_ids:
                    ids.extend(byte_ids)
                    lengths.extend([1] * len(byte_ids))
                    continue
            if self.unk_token is None:
                continue
            if pending is not None and self.fuse_unk:
                pending[1] += size
                continue
            if pending is not None:
                ids.append(pending[0])
                lengths.append(pending[1])
            pending = [self._unk_id(), size]
        if pending is not None:
            ids.append(pending[0])
            lengths.append(pending[1])
        return ids, lengths

    def to_json(self) -> dict:
        return {"type": "BPE", "dropout": None, "unk_token": self.unk_token,
                "continuing_subword_prefix": self.continuing_subword_prefix,
                "end_of_word_suffix": self.end_of_word_suffix, "fuse_unk": self.fuse_unk,
                "byte_fallback": self.byte_fallback,
                "ignore_merges": self.ignore_merges, "vocab": self.vocab, "merges": [list(m) for m in self.merges]}


def _merge(ids: list[int], lengths: list[int], ranks: dict) -> tuple[list[int], list[int]]:
    """Apply merges as ``tokenizers`` does: always the lowest-ranked mergeable pair, leftmost first (a heap).

    Symbols form a linked list; a heap entry whose pair has changed since it was pushed is skipped.
    """
    n = len(ids)
    ids, lengths = list(ids), list(lengths)
    previous = list(range(-1, n - 1))
    following = [*range(1, n), -1]
    heap = []
    for i in range(n - 1):
        found = ranks.get((ids[i], ids[i + 1]))
        if found is not None:
            heap.append((found[0], i, found[1]))
    heapq.heapify(heap)
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        _, position, new = pop(heap)
        right = following[position]
        if lengths[position] == 0 or right == -1:
            continue
        found = ranks.get((ids[position], ids[right]))
        if found is None or found[1] != new:
            continue
        ids[position] = new
        lengths[position] += lengths[right]
        lengths[right] = 0
        after = following[right]
        following[position] = after
        if after != -1:
            previous[after] = position
        before = previous[position]
        if before >= 0:
            found = ranks.get((ids[before], new))
            if found is not None:
                push(heap, (found[0], before, found[1]))
        if after != -1:
            found = ranks.get((new, ids[after]))
            if found is not None:
                push(heap, (found[0], position, found[1]))
    kept = [i for i in range(n) if lengths[i]]
    return [ids[i] for i in kept], [lengths[i] for i in kept]


class WordPiece(Model):
    """WordPiece (BERT): at each position take the longest vocabulary entry; later ones carry ``##``.

    A piece longer than ``max_input_chars_per_word`` characters, or one with a position where no
    entry matches, becomes the single token ``unk_token``.
    """

    def __init__(self, vocab: dict[str, int], unk_token: str = "[UNK]", continuing_subword_prefix: str = "##",
                 max_input_chars_per_word: int = 100):
        self.vocab = dict(check_vocab(vocab, "WordPiece vocab"))
        self.unk_token, self.continuing_subword_prefix = unk_token, continuing_subword_prefix
        self.max_input_chars_per_word = max_input_chars_per_word
        self._longest = max((len(token) for token in self.vocab), default=1)

    def _unknown(self, piece: str) -> list[Token]:
        unk = self.vocab.get(self.unk_token)
        if unk is None:
            raise SeqlabError(f"WordPiece: unk_token {self.unk_token!r} is not in the vocabulary (needed for "
                              f"{piece[:20]!r})")
        return [(unk, self.unk_token, 0, len(piece))]

    def tokenize(self, piece: str) -> list[Token]:
        if not piece:
            return []
        if len(piece) > self.max_input_chars_per_word:
            return self._unknown(piece)
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
                return self._unknown(piece)
            start = end
        return tokens

    def to_json(self) -> dict:
        return {"type": "WordPiece", "unk_token": self.unk_token,
                "continuing_subword_prefix": self.continuing_subword_prefix,
                "max_input_chars_per_word": self.max_input_chars_per_word, "vocab": self.vocab}


class WordLevel(Model):
    """One token per piece: its id in the vocabulary, or ``unk_token``'s (an error when that is missing)."""

    def __init__(self, vocab: dict[str, int], unk_token: str | None = "<unk>"):
        self.vocab = dict(check_vocab(vocab, "WordLevel vocab"))
        self.unk_token = unk_token

    def tokenize(self, piece: str) -> list[Token]:
        if not piece:
            return []
        token_id = self.vocab.get(piece)
        if token_id is not None:
            return [(token_id, piece, 0, len(piece))]
        unk = self.vocab.get(self.unk_token) if self.unk_token is not None else None
        if unk is None:
            missing = "it has no unknown token" if not self.unk_token else \
                f"neither is its unk_token {self.unk_token!r}"
            raise SeqlabError(f"{piece[:20]!r} is not in the vocabulary ({missing})")
        return [(unk, self.unk_token, 0, len(piece))]

    def to_json(self) -> dict:
        # tokenizers requires a string; an unk_token outside the vocabulary means "no unknown token" there too
        return {"type": "WordLevel", "vocab": self.vocab, "unk_token": "" if self.unk_token is None
                else self.unk_token}


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
        byte_fallback: spell an unknown run as its UTF-8 bytes (``<0x..>`` pieces) when they all exist.
    """

    UNK_PENALTY = 10.0

    def __init__(self, vocab: list[tuple[str, float]], unk_id: int | None = 0, byte_fallback: bool = False):
        self.pieces = [(str(piece), float(score)) for piece, score in vocab]
        self.vocab = {piece: i for i, (piece, _) in enumerate(self.pieces)}
        if unk_id is not None and not 0 <= unk_id < len(self.pieces):
            raise SeqlabError(f"Unigram: unk_id {unk_id} is outside the vocabulary of {len(self.pieces)} pieces")
        self.unk_id, self.byte_fallback = unk_id, byte_fallback
        self._scores = {piece: self.pieces[i][1] for piece, i in self.vocab.items()}
        self._unk_score = min((score for _, score in self.pieces), default=math.inf) - self.UNK_PENALTY
        self._longest = max((len(piece) for piece, _ in self.pieces), default=1)

    def id_to_token(self, token_id: int) -> str | None:
        return self.pieces[token_id][0] if 0 <= token_id < len(self.pieces) else None

    def vocab_size(self) -> int:
        return len(self.pieces)

    def _missing_unk(self, ch: str) -> SeqlabError:
        return SeqlabError(f"Unigram: {ch!r} is not in the vocabulary and there is no unk_id")

    def tokenize(self, piece: str) -> list[Token]:
        n = len(piece)
        if n == 0:
            return []
        scores = self._scores
        best = [0.0] * (n + 1)  # B[e]: best total score of x[:e]
        start_of: list[int | None] = [None] * (n + 1)
        id_at = [0] * (n + 1)
        longest = self._longest
        for s in range(n):
            till_here = best[s]
            has_single = False
            for e in range(s + 1, min(n, s + longest) + 1):
                score = scores.get(piece[s:e])
                if score is None:
                    continue
                candidate = score + till_here
                if start_of[e] is None or candidate > best[e]:
                    best[e], start_of[e], id_at[e] = candidate, s, self.vocab[piece[s:e]]
                has_single = has_single or e == s + 1
            if not has_single:
                candidate = self._unk_score + till_here
                if start_of[s + 1] is None or candidate > best[s + 1]:
                    if self.unk_id is None:  # an error only when the unknown piece would be used, as in tokenizers
                        raise self._missing_unk(piece[s])
                    best[s + 1], start_of[s + 1], id_at[s + 1] = candidate, s, self.unk_id
        spans: list[list[int]] = []  # [start, end, fused-unknown?]
        e = n
        while e > 0:
            s = start_of[e]
            unknown = id_at[e] == self.unk_id
            if unknown and spans and spans[-1][2]:
                spans[-1][0] = s  # fuse runs of unknown characters
            else:
                spans.append([s, e, unknown])
            e = s
        tokens: list[Token] = []
        for s, e, _ in reversed(spans):
            text = piece[s:e]
            token_id = self.vocab.get(text)
            if token_id is None:
                if self.byte_fallback:
                    byte_ids = [self.vocab.get(f"<0x{byte:02X}>") for byte in text.encode("utf-8")]
                    if None not in byte_ids:
                        tokens.extend((i, f"<0x{byte:02X}>", s, e) for i, byte in zip(byte_ids, text.encode()))
                        continue
                if self.unk_id is None:
                    raise self._missing_unk(text)
                token_id = self.unk_id
            tokens.append((token_id, text, s, e))
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
                    raise self._missing_unk(piece[s])
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
                "byte_fallback": self.byte_fallback}


_KINDS = "BPE, WordPiece, WordLevel, Unigram"


def model_from_json(data, path: str = "model") -> Model:
    """Build a model from ``tokenizer.json``'s ``"model"`` entry.

    Files from before the ``type`` field existed are read as ``tokenizers`` reads them: the first of
    BPE (``vocab`` and ``merges``), WordPiece (``unk_token``, ``continuing_subword_prefix``,
    ``max_input_chars_per_word``, ``vocab``), WordLevel (``unk_token``, ``vocab``) and Unigram (a list
    ``vocab``) whose fields are all there.
    """
    fields = Fields(data, path)
    kind = fields.type_name()
    if kind is None:
        kind = _infer_kind(fields)
    if kind == "BPE":
        return _bpe(fields)
    if kind == "WordPiece":
        return WordPiece(_vocab(fields), fields.string("unk_token"), fields.string("continuing_subword_prefix"),
                         fields.integer("max_input_chars_per_word", maximum=2**64 - 1))
    if kind == "WordLevel":
        return WordLevel(_vocab(fields), fields.string("unk_token"))
    if kind == "Unigram":
        return _unigram(fields)
    raise fields.fail("type", f"expected one of {_KINDS}, got {describe(kind)}")


def _infer_kind(fields: Fields) -> str:
    data = fields.data
    vocab = data.get("vocab")
    if isinstance(vocab, dict) and "merges" in data:
        return "BPE"
    if isinstance(vocab, dict) and all(key in data for key in ("unk_token", "continuing_subword_prefix",
                                                               "max_input_chars_per_word")):
        return "WordPiece"
    if isinstance(vocab, dict) and "unk_token" in data:
        return "WordLevel"
    if isinstance(vocab, list):
        return "Unigram"
    raise fields.fail("type", f"expected a type, or the fields of a model of an older file ({_KINDS}); found "
                              f"neither (keys: {sorted(data)[:8]})")


def _vocab(fields: Fields) -> dict[str, int]:
    return check_vocab(fields.object("vocab"), fields.where("vocab"))


def _bpe(fields: Fields) -> BPE:
    dropout = fields.number("dropout", default=None, nullable=True)
    if dropout is not None and not 0.0 <= dropout <= 1.0:
        raise fields.fail("dropout", f"expected a probability from 0 to 1, got {dropout!r}")
    if dropout:
        raise fields.fail("dropout", f"BPE dropout (random merges) is not supported by seqlab; expected null or 0, "
                                     f"got {dropout!r}")
    vocab = _vocab(fields)
    raw = fields.list("merges")
    merges: list[tuple[str, str]] = []
    strings = bool(raw) and isinstance(raw[0], str)
    for rank, item in enumerate(raw):
        if strings and isinstance(item, str):
            if item.startswith("#version"):
                continue  # merges.txt's header line, skipped by tokenizers too
            parts = item.split(" ")
            if len(parts) != 2:
                raise fields.fail(f"merges[{rank}]", f"expected 'left right' (two tokens separated by one space), "
                                                     f"got {item!r}")
            merges.append((parts[0], parts[1]))
        elif not strings and isinstance(item, list) and len(item) == 2 and all(isinstance(s, str) for s in item):
            merges.append((item[0], item[1]))
        else:
            raise fields.fail(f"merges[{rank}]", f"expected {'a string' if strings else 'a pair of strings'} like "
                                                 f"the first merge, got {describe(item)}")
    try:
        return BPE(vocab, merges, fields.string("unk_token", default=None, nullable=True),
                   fields.string("continuing_subword_prefix", default=None, nullable=True),
                   fields.string("end_of_word_suffix", default=None, nullable=True),
                   fields.boolean("fuse_unk", default=False, nullable=True) or False,
                   fields.boolean("ignore_merges", default=False, nullable=True) or False,
                   fields.boolean("byte_fallback", default=False, nullable=True) or False)
    except SeqlabError as error:  # "BPE merges[3] ...": name the field as a path
        raise SeqlabError(f"{fields.path}.{str(error).removeprefix('BPE ')}") from None


def _unigram(fields: Fields) -> Unigram:
    items = fields.list("vocab")
    vocab = []
    for i, item in enumerate(items):
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)
                and isinstance(item[1], int | float) and not isinstance(item[1], bool)):
            raise fields.fail(f"vocab[{i}]", f"expected [piece, score], got {describe(item)}")
        vocab.append((item[0], float(item[1])))
    unk_id = fields.integer("unk_id", default=None, nullable=True, maximum=2**64 - 1)
    if unk_id is not None and not vocab:
        raise fields.fail("vocab", "expected at least the unknown piece, got an empty list")
    if unk_id is not None and unk_id >= len(vocab):
        raise fields.fail("unk_id", f"expected an index into the vocabulary of {len(vocab)}, got {unk_id}")
    return Unigram(vocab, unk_id, fields.boolean("byte_fallback", default=False))

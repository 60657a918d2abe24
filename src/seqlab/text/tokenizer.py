"""The Tokenizer pipeline: normalizer -> pre-tokenizer -> model -> post-processor -> decoder.

    text --added tokens--> stretches --normalize--> normalized text --pre-tokenize--> pieces
         --model--> tokens --post-process--> Encoding (ids, tokens, offsets, masks, type ids) --decode--> text

Added tokens such as ``<s>`` are cut out of the raw text first (those marked ``normalized`` out of the
normalized text); every stage is a swappable object, and the whole pipeline saves to and loads from
Hugging Face's ``tokenizer.json``. It behaves as ``tokenizers`` 0.23 does on the same file -- ids,
tokens, offsets, type ids, masks and decoding -- and a file seqlab cannot honour, or a malformed one,
fails to load with a one-line ``SeqlabError`` naming the file and the field.

Speed: the model's tokens for each distinct piece are cached (with their spans in the piece), so the
merges of a frequent word are computed once; text that no normalizer changes is never copied.

Example:
    >>> from seqlab.text.trainers import BpeTrainer
    >>> tok = Tokenizer.byte_level_bpe()
    >>> tok.train_from_iterator(["aaabdaaabac"], BpeTrainer(vocab_size=259))
    >>> tok.encode("aaabdaaabac").ids
    [258, 100, 258, 97, 99]
    >>> tok.decode(tok.encode("héllo 🙂").ids)
    'héllo 🙂'
"""

from __future__ import annotations

import itertools
import json
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from seqlab.errors import SeqlabError
from seqlab.files import read_text, write_text_atomic
from seqlab.text import decoders, normalizers, pre_tokenizers, processors
from seqlab.text._gc import collector_paused
from seqlab.text.added_tokens import AddedToken, AddedVocabulary
from seqlab.text.byte_level import to_byte_chars, utf8
from seqlab.text.decoders import Decoder, decoder_from_json
from seqlab.text.encoding import Encoding
from seqlab.text.json_fields import MAX_DEPTH, Fields, depth, describe
from seqlab.text.models import BPE, Model, Unigram, WordLevel, WordPiece, model_from_json
from seqlab.text.normalized import Normalized
from seqlab.text.normalizers import Normalizer, normalizer_from_json
from seqlab.text.pre_tokenizers import PreTokenizer, pre_tokenizer_from_json
from seqlab.text.processors import PostProcessor, default_process, post_processor_from_json

log = logging.getLogger(__name__)

__all__ = ["CHARACTER_PATTERN", "AddedToken", "Padding", "Tokenizer", "Truncation"]

CACHE_CAPACITY = 100_000  # distinct pieces whose tokens are remembered
CHARACTER_PATTERN = r"[\s\S]"  # any one character, newlines included, in both Python's and Oniguruma's syntax
_STRATEGIES = {"longest_first": "LongestFirst", "only_first": "OnlyFirst", "only_second": "OnlySecond"}


@dataclass
class Truncation:
    """Cut encodings to ``max_length`` tokens (special tokens included), from the ``direction`` side."""

    max_length: int
    direction: str = "right"
    strategy: str = "longest_first"

    def to_json(self) -> dict:
        return {"direction": self.direction.capitalize(), "max_length": self.max_length,
                "strategy": _STRATEGIES[self.strategy], "stride": 0}


@dataclass
class Padding:
    """Pad a batch to its longest encoding (``length=None``) or to a fixed ``length``."""

    pad_id: int = 0
    pad_token: str = "[PAD]"
    pad_type_id: int = 0
    length: int | None = None
    direction: str = "right"
    pad_to_multiple_of: int | None = None

    def to_json(self) -> dict:
        return {"strategy": "BatchLongest" if self.length is None else {"Fixed": self.length},
                "direction": self.direction.capitalize(), "pad_to_multiple_of": self.pad_to_multiple_of,
                "pad_id": self.pad_id, "pad_type_id": self.pad_type_id, "pad_token": self.pad_token}

    def target(self, longest: int) -> int:
        length = longest if self.length is None else self.length
        if self.pad_to_multiple_of and length % self.pad_to_multiple_of:
            length += self.pad_to_multiple_of - length % self.pad_to_multiple_of
        return length


class Tokenizer:
    """A tokenization pipeline; see the module docstring.

    Args:
        model: splits each piece into tokens (``BPE``, ``WordPiece``, ``WordLevel``, ``Unigram``).
        normalizer, pre_tokenizer, post_processor, decoder: the other stages, each optional.
    """

    def __init__(self, model: Model, normalizer: Normalizer | None = None, pre_tokenizer: PreTokenizer | None = None,
                 post_processor: PostProcessor | None = None, decoder: Decoder | None = None):
        self.model = model
        self.normalizer, self.pre_tokenizer = normalizer, pre_tokenizer
        self.post_processor, self.decoder = post_processor, decoder
        self.added = AddedVocabulary()
        self.truncation: Truncation | None = None
        self.padding: Padding | None = None
        self._cache: dict[str, tuple[list[int], list[str], list, list]] = {}
        self._cache_stages: tuple = ()  # the stages the cached tokens were computed with
        self._trim_early = False  # offsets trimmed while encoding (see PostProcessor.trims_early)

    # ----------------------------------------------------------------- construction
    @classmethod
    def byte_level_bpe(cls, add_prefix_space: bool = False) -> Tokenizer:
        """An untrained GPT-2-style tokenizer: byte-level pre-tokenizer, BPE, trimmed offsets, byte decoder."""
        return cls(BPE({}, []), pre_tokenizer=pre_tokenizers.ByteLevel(add_prefix_space),
                   post_processor=processors.ByteLevel(add_prefix_space, trim_offsets=True),
                   decoder=decoders.ByteLevel())

    @classmethod
    def word_level(cls, lowercase: bool = False) -> Tokenizer:
        """An untrained word-level tokenizer: words and punctuation runs (``Whitespace``), one id each."""
        normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Lowercase()]) if lowercase \
            else normalizers.NFC()
        return cls(WordLevel({"<unk>": 0}), normalizer=normalizer, pre_tokenizer=pre_tokenizers.Whitespace())

    @classmethod
    def character_level(cls) -> Tokenizer:
        """An untrained character-level tokenizer: every character a piece, one id each, fused back on decode."""
        return cls(WordLevel({"<unk>": 0}), pre_tokenizer=pre_tokenizers.Split(CHARACTER_PATTERN, is_regex=True),
                   decoder=decoders.Fuse())

    @classmethod
    def wordpiece(cls, lowercase: bool = True) -> Tokenizer:
        """An untrained BERT-style tokenizer: (NFD, lowercase, strip accents), BERT's splitting, WordPiece."""
        steps = [normalizers.NFD(), normalizers.Lowercase(), normalizers.StripAccents()] if lowercase \
            else [normalizers.NFC()]
        return cls(WordPiece({"[UNK]": 0}), normalizer=normalizers.Sequence(steps),
                   pre_tokenizer=pre_tokenizers.BertPreTokenizer(), decoder=decoders.WordPiece())

    @classmethod
    def unigram(cls) -> Tokenizer:
        """An untrained SentencePiece-style tokenizer: NFKC, spaces as ``▁`` starting each piece, Unigram."""
        return cls(Unigram([("<unk>", 0.0)]), normalizer=normalizers.NFKC(), pre_tokenizer=pre_tokenizers.Metaspace(),
                   decoder=decoders.Metaspace())

    @property
    def added_tokens(self) -> list[AddedToken]:
        """The added tokens, in id order."""
        return self.added.tokens

    def add_special_tokens(self, tokens: Iterable[str | AddedToken]) -> None:
        """Register special tokens: strings must be in the model's vocabulary; ``AddedToken``s may be new."""
        added = []
        for token in tokens:
            if isinstance(token, AddedToken):
                added.append(token)
                continue
            token_id = self.added.token_to_id(token)
            if token_id is None:
                token_id = self.model.token_to_id(token)
            if token_id is None:
                raise SeqlabError(f"special token {token!r}: expected it in the vocabulary")
            added.append(AddedToken(token, token_id))
        self.added.add(added, self.model, self.normalizer)
        self._refresh()

    def clear_cache(self) -> None:
        """Forget the cached tokens of every piece (they are recomputed on demand)."""
        self._cache.clear()

    def _refresh(self) -> None:
        self._cache.clear()
        self._cache_stages = ()

    @property
    def vocab_size(self) -> int:
        return len(self.get_vocab())

    def get_vocab(self) -> dict[str, int]:
        vocab = dict(self.model.vocab)
        vocab.update(self.added.ids)
        return vocab

    def token_to_id(self, token: str) -> int | None:
        found = self.added.token_to_id(token)
        return found if found is not None else self.model.token_to_id(token)

    def id_to_token(self, token_id: int) -> str | None:
        token_id = int(token_id)
        found = self.added.shown_form(token_id)
        return found if found is not None else self.model.id_to_token(token_id)

    # ----------------------------------------------------------------- training
    def train_from_iterator(self, texts: Iterable[str], trainer) -> None:
        """Count the pieces of ``texts`` (normalized and pre-tokenized) and let ``trainer`` build the model."""
        counts: Counter[str] = Counter()
        with collector_paused():
            for text in texts:
                counts.update(self._pieces(text))
        if not counts:
            raise SeqlabError("training: expected text with at least one token, got an empty corpus")
        if self.is_byte_level:
            utf8(" ".join(counts))  # a clear error for lone surrogates before any work
        log.info("training %s on %d distinct pieces (%d in all)", type(trainer).__name__, len(counts),
                 sum(counts.values()))
        self.model, special = trainer.train(counts, byte_level=self.is_byte_level)
        self.added = AddedVocabulary()
        self.add_special_tokens(special)
        self._refresh()
        log.info("trained a %s model with %d tokens", type(self.model).__name__, self.vocab_size)

    def train(self, files: Iterable[str | Path], trainer, encoding: str = "utf-8") -> None:
        """Train on text files (read whole, split into lines, in ``encoding``)."""

        def lines():
            for file in files:
                yield from read_text(file, encoding).splitlines(keepends=True)

        self.train_from_iterator(lines(), trainer)

    @property
    def is_byte_level(self) -> bool:
        """Whether the model sees each piece as byte characters (a ``ByteLevel`` pre-tokenizer ends the chain)."""
        return self.pre_tokenizer is not None and self.pre_tokenizer.is_byte_level

    def _pieces(self, text: str) -> list[str]:
        """The pieces of one text (normalized and pre-tokenized), as strings: what training counts."""
        normalized = Normalized(text)
        if self.normalizer is not None:
            normalized = self.normalizer.normalize(normalized)
        pieces = self.pre_tokenizer.split([normalized]) if self.pre_tokenizer is not None else [normalized]
        return [piece.text for piece in pieces if piece.text]

    # ----------------------------------------------------------------- encoding
    def _tokenize_piece(self, piece: str) -> tuple[list[int], list[str], list, list]:
        """The model's tokens of one piece: ids, tokens, spans in characters of the piece trimmed (when the
        post-processor trims early) and as they are. Cached."""
        cached = self._cache.get(piece)
        if cached is not None:
            return cached
        if self.is_byte_level:
            raw = utf8(piece)
            tokens = self.model.tokenize(to_byte_chars(piece))
            if len(raw) == len(piece):
                spans = [(start, end) for _, _, start, end in tokens]
            else:
                char_of_byte = [i for i, ch in enumerate(piece) for _ in range(len(ch.encode("utf-8")))]
                spans = [(char_of_byte[start], char_of_byte[end - 1] + 1) for _, _, start, end in tokens]
        else:
            tokens = self.model.tokenize(piece)
            spans = [(start, end) for _, _, start, end in tokens]
        token_ids, texts = [t[0] for t in tokens], [t[1] for t in tokens]
        # trimming is the same on spans within the piece as on the text's offsets only when the piece's
        # characters stand for consecutive characters of the text; the untrimmed spans serve the other pieces
        trimmed = self.post_processor.trim_spans(texts, spans) if self._trim_early else spans
        result = (token_ids, texts, trimmed, spans)
        if len(self._cache) < CACHE_CAPACITY:
            self._cache[piece] = result
        return result

    def _encode_pieces(self, part: Normalized, out: Encoding) -> None:
        """Pre-tokenize one stretch of normalized text (no added tokens in it) and append its tokens."""
        pre_tokenizer, tokenize = self.pre_tokenizer, self._tokenize_piece
        cached = self._cache.get
        ids, tokens, offsets = out.ids, out.tokens, out.offsets
        tiles = None
        if part.is_identity:
            tiles = pre_tokenizer.tiles(part.text) if pre_tokenizer is not None else iter([[part.text]])
        if tiles is not None:
            # the fast path: pieces are plain strings of the text, a run at a time
            base = part.base
            for run in tiles:
                entries = [cached(piece) or tokenize(piece) for piece in run]
                ids.extend([i for entry in entries for i in entry[0]])
                tokens.extend([t for entry in entries for t in entry[1]])
                starts = itertools.accumulate(map(len, run), initial=base)
                offsets.extend([(start + a, start + b) for entry, start in zip(entries, starts) for a, b in entry[2]])
                base += sum(map(len, run))
            return
        pieces = pre_tokenizer.split([part]) if pre_tokenizer is not None else [part]
        for piece in pieces:
            text = piece.text
            if not text:
                continue
            entry = cached(text) or tokenize(text)
            ids.extend(entry[0])
            tokens.extend(entry[1])
            if piece.is_identity:
                offsets.extend(piece.offsets(entry[2]))
            elif self._trim_early:
                offsets.extend(self.post_processor.trim_spans(entry[1], piece.offsets(entry[3])))
            else:
                offsets.extend(piece.offsets(entry[3]))

    def _encode_sequence(self, text: str, type_id: int) -> Encoding:
        if not isinstance(text, str):
            raise SeqlabError(f"encode: expected a str, got {type(text).__name__}")
        utf8(text)  # lone surrogates: an error naming their position (tokenizers refuses them too)
        out = Encoding([], [], [])
        for start, stop, added_id in self.added.split_raw(text):
            if stop == start:
                continue
            if added_id is not None:
                out.ids.append(added_id)
                out.tokens.append(text[start:stop])
                out.offsets.append(self._trimmed(text[start:stop], (start, stop)))
                continue
            segment = Normalized(text[start:stop], start)
            if self.normalizer is not None:
                segment = self.normalizer.normalize(segment)
            for a, b, token_id in self.added.split_normalized(segment.text):
                if b == a:
                    continue
                part = segment.slice(a, b)
                if token_id is None:
                    self._encode_pieces(part, out)
                else:
                    out.ids.append(token_id)
                    out.tokens.append(part.text)
                    out.offsets.append(self._trimmed(part.text, part.original(0, len(part.text))))
        n = len(out.ids)
        return Encoding(out.ids, out.tokens, out.offsets, [type_id] * n, [1] * n, [0] * n)


    def _trimmed(self, token: str, span: tuple[int, int]) -> tuple[int, int]:
        return self.post_processor.trim_spans([token], [span])[0] if self._trim_early else span

    def encode(self, text: str, pair: str | None = None, add_special_tokens: bool = True) -> Encoding:
        """Encode one text (or a pair); truncation and padding apply if enabled."""
        stages = (self.model, self.normalizer, self.pre_tokenizer, self.post_processor)
        if any(a is not b for a, b in zip(stages, self._cache_stages)) or not self._cache_stages:
            self.clear_cache()  # a stage was swapped: the cached tokens may be stale
            self._cache_stages = stages
            self._trim_early = self.post_processor is not None and self.post_processor.trims_early()
        encoding = self._encode_sequence(text, 0)
        second = self._encode_sequence(pair, 1) if pair is not None else None
        if self.truncation is not None:
            added = self.post_processor.added_tokens(second is not None) if self.post_processor is not None else 0
            _truncate(encoding, second, self.truncation, added if add_special_tokens else 0)
        if self.post_processor is not None:
            encoding = self.post_processor.process(encoding, second, add_special_tokens, trim=not self._trim_early)
        else:
            encoding = default_process(encoding, second)
        if self.padding is not None:
            self._pad(encoding, self.padding.target(len(encoding)))
        return encoding

    def encode_batch(self, texts: list[str] | list[tuple[str, str]], add_special_tokens: bool = True) -> list[Encoding]:
        """Encode several texts (or pairs), padded together when padding is enabled."""
        with collector_paused():
            encodings = [self.encode(*item, add_special_tokens=add_special_tokens) if isinstance(item, tuple)
                         else self.encode(item, add_special_tokens=add_special_tokens) for item in texts]
        if self.padding is not None and encodings:
            length = self.padding.target(max(len(e) for e in encodings))
            for encoding in encodings:
                self._pad(encoding, length)
        return encodings

    def _pad(self, encoding: Encoding, length: int) -> None:
        p = self.padding
        encoding.pad(length, p.pad_id, p.pad_token, p.pad_type_id, p.direction)

    def enable_truncation(self, max_length: int, direction: str = "right", strategy: str = "longest_first") -> None:
        if direction not in ("right", "left") or strategy not in _STRATEGIES:
            raise SeqlabError(f"truncation: expected direction right|left and strategy longest_first|only_first|"
                              f"only_second, got {direction!r}, {strategy!r}")
        if not isinstance(max_length, int) or max_length < 0:
            raise SeqlabError(f"truncation: expected max_length >= 0, got {max_length!r}")
        self.truncation = Truncation(max_length, direction, strategy)

    def enable_padding(self, pad_token: str = "<pad>", length: int | None = None, direction: str = "right",
                       pad_type_id: int = 0, pad_to_multiple_of: int | None = None) -> None:
        pad_id = self.token_to_id(pad_token)
        if pad_id is None:
            raise SeqlabError(f"padding: expected the pad token {pad_token!r} in the vocabulary")
        if direction not in ("right", "left"):
            raise SeqlabError(f"padding: expected direction right|left, got {direction!r}")
        self.padding = Padding(pad_id, pad_token, pad_type_id, length, direction, pad_to_multiple_of)

    # ----------------------------------------------------------------- decoding
    def decode(self, ids: Iterable[int], skip_special_tokens: bool = True) -> str:
        """Ids back to text (special tokens left out unless ``skip_special_tokens=False``).

        As in ``tokenizers``, an added token decodes to its normalized form, and a token is skipped when
        that form is the content of a special token. An id outside the vocabulary is an error (where
        ``tokenizers`` drops it silently).
        """
        special = self.added.special_contents if skip_special_tokens else ()
        tokens = []
        for token_id in ids:
            token = self.id_to_token(token_id)
            if token is None:
                raise SeqlabError(f"decode: id {int(token_id)} is outside the vocabulary (size {self.vocab_size})")
            if token in special:
                continue
            tokens.append(token)
        if self.decoder is None:
            return " ".join(tokens)
        return self.decoder.decode(tokens)

    def decode_batch(self, batch: Iterable[Iterable[int]], skip_special_tokens: bool = True) -> list[str]:
        return [self.decode(ids, skip_special_tokens) for ids in batch]

    # ----------------------------------------------------------------- tokenizer.json
    def to_json(self) -> dict:
        """The pipeline as Hugging Face's ``tokenizer.json`` structure."""
        stage = {"normalizer": self.normalizer, "pre_tokenizer": self.pre_tokenizer,
                 "post_processor": self.post_processor, "decoder": self.decoder}
        return {"version": "1.0",
                "truncation": self.truncation.to_json() if self.truncation else None,
                "padding": self.padding.to_json() if self.padding else None,
                "added_tokens": [added.to_json() for added in self.added.tokens],
                **{name: (value.to_json() if value is not None else None) for name, value in stage.items()},
                "model": self.model.to_json()}

    def to_str(self, pretty: bool = False) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, indent=2 if pretty else None)

    def save(self, path: str | Path, pretty: bool = True) -> None:
        """Write ``tokenizer.json`` (atomically)."""
        write_text_atomic(Path(path), self.to_str(pretty))

    @classmethod
    def from_json(cls, data: dict) -> Tokenizer:
        """Build a tokenizer from the parsed ``tokenizer.json`` structure (errors name the field)."""
        if depth(data) > MAX_DEPTH:
            raise SeqlabError(f"tokenizer.json: expected JSON nested at most {MAX_DEPTH} deep, got deeper")
        fields = Fields(data, "tokenizer.json")
        if fields.has("version") and fields.raw("version") != "1.0":
            raise SeqlabError(f"version: expected '1.0', got {describe(fields.raw('version'))}")
        model = model_from_json(fields.raw("model"), "model")
        tokenizer = cls(model, normalizer_from_json(data.get("normalizer")),
                        pre_tokenizer_from_json(data.get("pre_tokenizer")),
                        post_processor_from_json(data.get("post_processor")), decoder_from_json(data.get("decoder")))
        items = fields.list("added_tokens", default=[])
        tokens = [AddedToken.from_json(item, f"added_tokens[{i}]") for i, item in enumerate(items)]
        tokenizer.added.add(tokens, model, tokenizer.normalizer)
        tokenizer.truncation = _truncation_from_json(data.get("truncation"))
        tokenizer.padding = _padding_from_json(data.get("padding"))
        tokenizer._check_ids()
        return tokenizer

    def _check_ids(self) -> None:
        """Ids the post-processor or the padding insert must be in the vocabulary (else they decode to nothing)."""
        used = {f"post_processor.{where}": token_id for where, token_id in
                (self.post_processor.special_ids().items() if self.post_processor is not None else ())}
        if self.padding is not None:
            used["padding.pad_id"] = self.padding.pad_id
        for where, token_id in used.items():
            if self.id_to_token(token_id) is None:
                raise SeqlabError(f"{where}: expected an id of the vocabulary (size {self.vocab_size}), got {token_id}")

    @classmethod
    def from_str(cls, text: str) -> Tokenizer:
        try:
            data = json.loads(text, parse_constant=_no_constants)
        except json.JSONDecodeError as error:
            raise SeqlabError(f"tokenizer.json: expected JSON, got a parse error: {error}") from None
        except RecursionError:
            raise SeqlabError(f"tokenizer.json: expected JSON nested at most {MAX_DEPTH} deep, got deeper") from None
        return cls.from_json(data)

    @classmethod
    def from_file(cls, path: str | Path) -> Tokenizer:
        """Read a ``tokenizer.json`` written by seqlab or by Hugging Face ``tokenizers``."""
        try:
            text = read_text(path)
        except SeqlabError as error:
            if "not valid" in str(error):  # read_text's hint about --encoding does not apply: JSON is UTF-8
                raise SeqlabError(f"{str(error).partition('; ')[0]}; a tokenizer.json must be UTF-8") from None
            raise
        try:
            return cls.from_str(text)
        except SeqlabError as error:
            raise SeqlabError(f"{path}: {str(error).removeprefix('tokenizer.json: ')}") from None


def _no_constants(name: str):
    raise SeqlabError(f"tokenizer.json: expected JSON numbers, got {name} (not JSON)")


def _truncation_from_json(data) -> Truncation | None:
    if data is None:
        return None
    fields = Fields(data, "truncation")
    direction = fields.string("direction", default="Right")
    strategy = fields.string("strategy")
    names = {value: key for key, value in _STRATEGIES.items()}
    if direction not in ("Left", "Right"):
        raise fields.fail("direction", f"expected Left or Right, got {describe(direction)}")
    if strategy not in names:
        raise fields.fail("strategy", f"expected one of {', '.join(names)}, got {describe(strategy)}")
    if fields.integer("stride", maximum=2**64 - 1):
        raise fields.fail("stride", "overflowing windows (a stride above 0) are not supported by seqlab; expected 0")
    return Truncation(fields.integer("max_length", maximum=2**64 - 1), direction.lower(), names[strategy])


def _padding_from_json(data) -> Padding | None:
    if data is None:
        return None
    fields = Fields(data, "padding")
    strategy = fields.raw("strategy")
    if strategy == "BatchLongest":
        length = None
    elif isinstance(strategy, dict) and list(strategy) == ["Fixed"] and type(strategy["Fixed"]) is int \
            and strategy["Fixed"] >= 0:
        length = strategy["Fixed"]
    else:
        raise fields.fail("strategy", f'expected "BatchLongest" or {{"Fixed": length}}, got {describe(strategy)}')
    direction = fields.string("direction")
    if direction not in ("Left", "Right"):
        raise fields.fail("direction", f"expected Left or Right, got {describe(direction)}")
    return Padding(fields.integer("pad_id"), fields.string("pad_token"), fields.integer("pad_type_id"), length,
                   direction.lower(), fields.integer("pad_to_multiple_of", default=None, nullable=True,
                                                     maximum=2**64 - 1))


def _truncate(first: Encoding, second: Encoding | None, truncation: Truncation, added: int) -> None:
    """Cut ``first`` (and ``second``) as ``tokenizers``' ``truncate_encodings`` does, leaving room for ``added``."""
    max_length = truncation.max_length - added
    if max_length < 0:
        return  # tokenizers' unsigned subtraction wraps around here: nothing is cut
    direction = truncation.direction
    if max_length == 0:
        first.truncate(0, direction)
        if second is not None:
            second.truncate(0, direction)
        return
    total = len(first) + (len(second) if second is not None else 0)
    if total <= max_length:
        return
    to_remove = total - max_length
    if truncation.strategy == "longest_first":
        if second is None:
            first.truncate(total - to_remove, direction)
            return
        n1, n2 = len(first), len(second)
        swap = n1 > n2
        if swap:
            n1, n2 = n2, n1
        n2 = n1 if n1 > max_length else max(n1, max_length - n1)
        if n1 + n2 > max_length:
            n1 = max_length // 2
            n2 = n1 + max_length % 2
        if swap:
            n1, n2 = n2, n1
        first.truncate(n1, direction)
        second.truncate(n2, direction)
        return
    if truncation.strategy == "only_first":
        target = first
    elif second is not None:
        target = second
    else:
        raise SeqlabError("truncation: strategy only_second needs a pair of sequences, got one")
    if len(target) <= to_remove:
        raise SeqlabError(f"truncation: the sequence to cut has {len(target)} tokens, too few to remove {to_remove} "
                          f"and fit max_length {truncation.max_length}")
    target.truncate(len(target) - to_remove, direction)

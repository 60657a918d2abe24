"""The Tokenizer pipeline: normalizer -> pre-tokenizer -> model -> post-processor -> decoder.

    text --normalize--> normalized text --pre-tokenize--> pieces --model--> tokens
         --post-process--> Encoding (ids, tokens, offsets, masks, type ids) --decode--> text

Special ("added") tokens such as ``<bos>`` are cut out of the raw text first and never normalized
or split. Every stage is a swappable object; the whole pipeline saves to and loads from Hugging
Face's ``tokenizer.json``, so a tokenizer trained here loads in ``tokenizers`` (and the reverse)
and gives the same ids.

Speed: the model's tokens for each distinct piece are cached (with their offsets relative to the
piece), so the merges of a frequent word are computed once.

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

import json
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import regex

from seqlab.errors import SeqlabError
from seqlab.files import write_text_atomic
from seqlab.text import decoders, normalizers, pre_tokenizers, processors
from seqlab.text._gc import collector_paused
from seqlab.text.byte_level import to_byte_chars, utf8
from seqlab.text.decoders import Decoder, decoder_from_json
from seqlab.text.encoding import Encoding
from seqlab.text.models import BPE, Model, Unigram, WordLevel, WordPiece, model_from_json
from seqlab.text.normalizers import Normalized, Normalizer, normalizer_from_json
from seqlab.text.pre_tokenizers import PreTokenizer, pre_tokenizer_from_json
from seqlab.text.processors import PostProcessor, default_process, post_processor_from_json

log = logging.getLogger(__name__)

CACHE_CAPACITY = 100_000  # distinct pieces whose tokens are remembered
CHARACTER_PATTERN = r"[\s\S]"  # any one character, newlines included, in both Python's and Oniguruma's syntax


@dataclass(frozen=True)
class AddedToken:
    """A token matched in the raw text before anything else (``special`` ones are skipped when decoding).

    ``lstrip`` / ``rstrip`` make the match swallow the white space before / after it, ``single_word``
    refuses matches inside a word, as in ``tokenizers``. ``normalized`` is kept for the JSON, but
    matching is always on the raw text.
    """

    content: str
    id: int
    special: bool = True
    single_word: bool = False
    lstrip: bool = False
    rstrip: bool = False
    normalized: bool = False

    def pattern(self) -> str:
        """The regex that finds this token in raw text."""
        space = f"[{regex.escape(pre_tokenizers.WHITESPACE)}]*"
        body = regex.escape(self.content)
        if self.single_word:
            body = rf"(?<!\w){body}(?!\w)"
        return (space if self.lstrip else "") + body + (space if self.rstrip else "")

    def to_json(self) -> dict:
        data = asdict(self)
        return {"id": data.pop("id"), "content": data.pop("content"), "single_word": self.single_word,
                "lstrip": self.lstrip, "rstrip": self.rstrip, "normalized": self.normalized, "special": self.special}


@dataclass
class Truncation:
    """Cut encodings to ``max_length`` tokens (special tokens included), from the ``direction`` side."""

    max_length: int
    direction: str = "right"
    strategy: str = "longest_first"

    def to_json(self) -> dict:
        strategy = {"longest_first": "LongestFirst", "only_first": "OnlyFirst", "only_second": "OnlySecond"}
        return {"direction": self.direction.capitalize(), "max_length": self.max_length,
                "strategy": strategy[self.strategy], "stride": 0}


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
        if self.pad_to_multiple_of:
            length = -(-length // self.pad_to_multiple_of) * self.pad_to_multiple_of
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
        self.added_tokens: list[AddedToken] = []
        self.truncation: Truncation | None = None
        self.padding: Padding | None = None
        self._cache: dict[str, tuple[list[int], list[str], list[tuple[int, int]]]] = {}
        self._trimmed_cache: dict[str, tuple[list[int], list[str], list[tuple[int, int]]]] = {}
        self._added_pattern: regex.Pattern | None = None
        self._added_ids: dict[str, int] = {}
        self._id_to_token: tuple[Model | None, dict[int, str]] = (None, {})
        self._cache_stages: tuple = ()  # the stages the cached tokens were computed with

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

    def add_special_tokens(self, tokens: Iterable[str]) -> None:
        """Register tokens of the model's vocabulary as special: matched whole in the raw text."""
        for content in tokens:
            if any(added.content == content for added in self.added_tokens):
                continue
            token_id = self.model.token_to_id(content)
            if token_id is None:
                raise SeqlabError(f"special token {content!r}: expected it in the vocabulary")
            self.added_tokens.append(AddedToken(content, token_id))
        self._refresh()

    def clear_cache(self) -> None:
        """Forget the cached tokens of every piece (they are recomputed on demand)."""
        self._cache.clear()
        self._trimmed_cache.clear()

    def _refresh(self) -> None:
        self._cache.clear()
        self._trimmed_cache.clear()
        self._id_to_token = (None, {})
        ordered = sorted(self.added_tokens, key=lambda added: len(added.content), reverse=True)
        self._added_pattern = regex.compile("|".join(
            f"(?P<t{i}>{added.pattern()})" for i, added in enumerate(ordered))) if ordered else None
        self._added_ids = {f"t{i}": added.id for i, added in enumerate(ordered)}

    @property
    def vocab_size(self) -> int:
        return len(self.get_vocab())

    def get_vocab(self) -> dict[str, int]:
        vocab = dict(self.model.vocab)
        vocab.update({added.content: added.id for added in self.added_tokens})
        return vocab

    def token_to_id(self, token: str) -> int | None:
        return self.get_vocab().get(token)

    def id_to_token(self, token_id: int) -> str | None:
        model, by_id = self._id_to_token
        if model is not self.model:  # built lazily, again whenever the model is swapped
            by_id = {i: t for t, i in self.get_vocab().items()}
            self._id_to_token = (self.model, by_id)
        return by_id.get(int(token_id))

    # ----------------------------------------------------------------- training
    def train_from_iterator(self, texts: Iterable[str], trainer) -> None:
        """Count the pieces of ``texts`` (normalized and pre-tokenized) and let ``trainer`` build the model."""
        counts: Counter[str] = Counter()
        with collector_paused():
            for text in texts:
                counts.update(piece for piece, _, _ in self._pieces(text))
        if not counts:
            raise SeqlabError("training: expected text with at least one token, got an empty corpus")
        if self.is_byte_level:
            utf8(" ".join(counts))  # a clear error for lone surrogates before any work
        log.info("training %s on %d distinct pieces (%d in all)", type(trainer).__name__, len(counts),
                 sum(counts.values()))
        self.model, special = trainer.train(counts, byte_level=self.is_byte_level)
        self.added_tokens = []
        self.add_special_tokens(special)
        self._refresh()
        log.info("trained a %s model with %d tokens", type(self.model).__name__, self.vocab_size)

    def train(self, files: Iterable[str | Path], trainer, encoding: str = "utf-8") -> None:
        """Train on text files (read line by line in ``encoding``)."""

        def lines():
            for file in files:
                with open(file, encoding=encoding) as handle:
                    yield from handle

        self.train_from_iterator(lines(), trainer)

    @property
    def is_byte_level(self) -> bool:
        return self.pre_tokenizer is not None and self.pre_tokenizer.is_byte_level

    # ----------------------------------------------------------------- encoding
    def _pieces(self, text: str) -> list[tuple[str, int, int]]:
        """Normalize and pre-tokenize one stretch of text without added tokens (pieces only, no offsets)."""
        if self.normalizer is not None:
            text = self.normalizer.normalize_str(text)
        if self.pre_tokenizer is None:
            return [(text, 0, 0)] if text else []
        return self.pre_tokenizer.split([(text, 0, 0)])

    def _trims_in_cache(self) -> bool:
        """Whether the ByteLevel post-processor's offset trimming can be done once per cached piece.

        Trimming a token depends on the token alone, except for the first token when the prefix space
        is on; so it is cached only without prefix space (and without a normalizer, whose alignment
        must come first), and the post-processor is then skipped.
        """
        p = self.post_processor
        return isinstance(p, processors.ByteLevel) and p.trim_offsets and not p.add_prefix_space \
            and self.normalizer is None

    def _tokenize_piece(self, piece: str, trim: bool = False) -> tuple[list[int], list[str], list[tuple[int, int]]]:
        """The model's tokens of one piece, offsets in characters of the piece (cached), trimmed if ``trim``."""
        cache = self._trimmed_cache if trim else self._cache
        cached = cache.get(piece)
        if cached is not None:
            return cached
        if self.is_byte_level:
            raw = utf8(piece)
            tokens = self.model.tokenize(to_byte_chars(piece))
            if len(raw) == len(piece):
                offsets = [(start, end) for _, _, start, end in tokens]
            else:
                char_of_byte = [i for i, ch in enumerate(piece) for _ in range(len(utf8(ch)))]
                offsets = [(char_of_byte[start], char_of_byte[end - 1] + 1) for _, _, start, end in tokens]
        else:
            tokens = self.model.tokenize(piece)
            offsets = [(start, end) for _, _, start, end in tokens]
        result = ([t[0] for t in tokens], [t[1] for t in tokens], offsets)
        if trim:
            result = (result[0], result[1], self.post_processor.trim(result[1], offsets))
        if len(cache) < CACHE_CAPACITY:
            cache[piece] = result
        return result

    def _encode_segment(self, text: str, base: int, out: Encoding, trim: bool) -> None:
        """Append the tokens of ``text`` (no added tokens in it), which starts at ``base`` in the input."""
        normalized = self.normalizer.normalize(Normalized(text)) if self.normalizer else None
        if normalized is not None:
            text = normalized.text
        pieces = self.pre_tokenizer.split([(text, 0, 0)]) if self.pre_tokenizer else ([(text, 0, 0)] if text else [])
        identity = normalized is None or normalized.spans is None
        cache, tokenize = (self._trimmed_cache if trim else self._cache).get, self._tokenize_piece
        entries = [cache(piece) or tokenize(piece, trim) for piece, _, _ in pieces]  # (ids, tokens, offsets)
        out.ids.extend([i for entry in entries for i in entry[0]])
        out.tokens.extend([t for entry in entries for t in entry[1]])
        if identity and not any(extra for _, _, extra in pieces):
            # offsets within a piece, shifted to where the piece starts
            out.offsets.extend([(base + start + a, base + start + b)
                                for entry, (_, start, _) in zip(entries, pieces) for a, b in entry[2]])
            return
        if normalized is None:
            normalized = Normalized(text)
        for entry, (_, start, extra) in zip(entries, pieces):
            for a, b in entry[2]:
                # inserted prefix characters take the span of the piece's first character (as in tokenizers)
                a, b = start + max(a - extra, 0), start + max(b - extra, min(b - a, 1))
                a, b = normalized.original(a, b, len(text))
                out.offsets.append((base + a, base + b))

    def _encode_one(self, text: str, trim: bool = False) -> Encoding:
        if not isinstance(text, str):
            raise SeqlabError(f"encode: expected a str, got {type(text).__name__}")
        if self.is_byte_level:
            utf8(text)  # lone surrogates: an error naming their position in the text, not in a piece
        out = Encoding([], [], [])
        last = 0
        if self._added_pattern is not None:
            for match in self._added_pattern.finditer(text):
                if match.start() > last:
                    self._encode_segment(text[last:match.start()], last, out, trim)
                out.ids.append(self._added_ids[match.lastgroup])
                out.tokens.append(match.group())
                out.offsets.append(match.span())
                last = match.end()
        if last < len(text) or not text:
            self._encode_segment(text[last:], last, out, trim)
        return Encoding(out.ids, out.tokens, out.offsets)

    def encode(self, text: str, pair: str | None = None, add_special_tokens: bool = True) -> Encoding:
        """Encode one text (or a pair); truncation and fixed-length padding apply if enabled."""
        stages = (self.model, self.pre_tokenizer, self.post_processor)
        if any(a is not b for a, b in zip(stages, self._cache_stages)) or not self._cache_stages:
            self.clear_cache()  # a stage was swapped: the cached tokens may be stale
            self._cache_stages = stages
        trim = self._trims_in_cache()
        encoding = self._encode_one(text, trim)
        second = self._encode_one(pair, trim) if pair is not None else None
        if self.truncation is not None:
            room = self.truncation.max_length
            if add_special_tokens and self.post_processor is not None:
                room -= self.post_processor.added_tokens(second is not None)
            _truncate(encoding, second, max(room, 0), self.truncation)
        if self.post_processor is not None and not trim:
            encoding = self.post_processor.process(encoding, second, add_special_tokens)
        else:
            encoding = default_process(encoding, second)
        if self.padding is not None and self.padding.length is not None:
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
        if direction not in ("right", "left") or strategy not in ("longest_first", "only_first", "only_second"):
            raise SeqlabError(f"truncation: expected direction right|left and strategy longest_first|only_first|"
                              f"only_second, got {direction!r}, {strategy!r}")
        self.truncation = Truncation(max_length, direction, strategy)

    def enable_padding(self, pad_token: str = "<pad>", length: int | None = None, direction: str = "right",
                       pad_type_id: int = 0, pad_to_multiple_of: int | None = None) -> None:
        pad_id = self.token_to_id(pad_token)
        if pad_id is None:
            raise SeqlabError(f"padding: expected the pad token {pad_token!r} in the vocabulary")
        self.padding = Padding(pad_id, pad_token, pad_type_id, length, direction, pad_to_multiple_of)

    # ----------------------------------------------------------------- decoding
    def decode(self, ids: Iterable[int], skip_special_tokens: bool = True) -> str:
        """Ids back to text (special tokens left out unless ``skip_special_tokens=False``)."""
        special = {added.id for added in self.added_tokens if added.special} if skip_special_tokens else set()
        tokens = []
        for token_id in ids:
            token_id = int(token_id)
            if token_id in special:
                continue
            token = self.id_to_token(token_id)
            if token is None:
                raise SeqlabError(f"decode: id {token_id} is outside the vocabulary (size {self.vocab_size})")
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
                "added_tokens": [added.to_json() for added in sorted(self.added_tokens, key=lambda a: a.id)],
                **{name: (value.to_json() if value is not None else None) for name, value in stage.items()},
                "model": self.model.to_json()}

    def to_str(self, pretty: bool = False) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, indent=2 if pretty else None)

    def save(self, path: str | Path, pretty: bool = True) -> None:
        """Write ``tokenizer.json`` (atomically)."""
        write_text_atomic(Path(path), self.to_str(pretty))

    @classmethod
    def from_json(cls, data: dict) -> Tokenizer:
        if not isinstance(data, dict) or "model" not in data:
            raise SeqlabError("tokenizer.json: expected an object with a 'model' entry")
        tokenizer = cls(model_from_json(data["model"]), normalizer_from_json(data.get("normalizer")),
                        pre_tokenizer_from_json(data.get("pre_tokenizer")),
                        post_processor_from_json(data.get("post_processor")), decoder_from_json(data.get("decoder")))
        for item in data.get("added_tokens") or []:
            tokenizer.added_tokens.append(AddedToken(item["content"], item["id"], item.get("special", False),
                                                     item.get("single_word", False), item.get("lstrip", False),
                                                     item.get("rstrip", False), item.get("normalized", False)))
        tokenizer._refresh()
        if data.get("truncation"):
            t = data["truncation"]
            names = {"LongestFirst": "longest_first", "OnlyFirst": "only_first", "OnlySecond": "only_second"}
            tokenizer.truncation = Truncation(t["max_length"], t.get("direction", "Right").lower(),
                                              names[t.get("strategy", "LongestFirst")])
        if data.get("padding"):
            p = data["padding"]
            strategy = p.get("strategy", "BatchLongest")
            tokenizer.padding = Padding(p.get("pad_id", 0), p.get("pad_token", "[PAD]"), p.get("pad_type_id", 0),
                                        strategy["Fixed"] if isinstance(strategy, dict) else None,
                                        p.get("direction", "Right").lower(), p.get("pad_to_multiple_of"))
        return tokenizer

    @classmethod
    def from_str(cls, text: str) -> Tokenizer:
        try:
            return cls.from_json(json.loads(text))
        except json.JSONDecodeError as error:
            raise SeqlabError(f"tokenizer.json: expected JSON, got a parse error: {error}") from None

    @classmethod
    def from_file(cls, path: str | Path) -> Tokenizer:
        """Read a ``tokenizer.json`` written by seqlab or by Hugging Face ``tokenizers``."""
        return cls.from_str(Path(path).read_text(encoding="utf-8"))


def _truncate(first: Encoding, second: Encoding | None, room: int, truncation: Truncation) -> None:
    """Cut ``first`` (and ``second``) so that together they hold at most ``room`` tokens."""
    direction = truncation.direction
    if second is None:
        first.truncate(room, direction)
        return
    excess = len(first) + len(second) - room
    if excess <= 0:
        return
    if truncation.strategy == "only_first":
        first.truncate(max(len(first) - excess, 0), direction)
    elif truncation.strategy == "only_second":
        second.truncate(max(len(second) - excess, 0), direction)
    else:
        # longest first: take tokens from the longer one until both fit
        n1, n2 = len(first), len(second)
        while n1 + n2 > room:
            if n1 > n2:
                n1 -= 1
            else:
                n2 -= 1
        first.truncate(n1, direction)
        second.truncate(n2, direction)




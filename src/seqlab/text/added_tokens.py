"""Added tokens: strings matched whole in the text before the model runs (``<s>``, ``[MASK]``, ``<|endoftext|>``).

As in Hugging Face ``tokenizers``:

- tokens with ``normalized: false`` are found in the raw text; the text between them is normalized,
  and tokens with ``normalized: true`` are then found in that normalized text, in their normalized
  form (Llama's ``<s>`` is matched as ``▁<s>`` after its ``Prepend("▁")``);
- matching is leftmost-longest and never overlaps; ``single_word`` refuses a match touching a word
  character, ``lstrip`` / ``rstrip`` swallow the white space before / after it;
- ids: a token whose content the model (or an earlier added token) knows takes that id, the others
  get fresh ids after the model's vocabulary, in file order (the ``id`` written in the file is not
  used, as in ``tokenizers``);
- decoding shows an added token in its normalized form, and ``skip_special_tokens`` skips a token
  whose shown form is the content of a special token.

Example:
    >>> from seqlab.text.models import WordLevel
    >>> added = AddedVocabulary()
    >>> added.add([AddedToken("<mask>", 0, lstrip=True)], WordLevel({"a": 0, "<unk>": 1}), None)
    >>> [(a, b, token_id) for a, b, token_id in added.split_raw("a  <mask>b")]
    [(0, 1, None), (1, 9, 2), (9, 10, None)]
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace

import regex

from seqlab.text.json_fields import Fields
from seqlab.text.unicode import WHITESPACE

log = logging.getLogger(__name__)

# Rust's regex crate, which tokenizers uses for these checks: \w and \s in their Unicode meaning
_WORD_AT_END = regex.compile(r"[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]\Z")
_WORD_AT_START = regex.compile(r"[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]")
_SPACE = frozenset(WHITESPACE)


@dataclass(frozen=True)
class AddedToken:
    """A token matched in the text before anything else (``special`` ones are skipped when decoding).

    ``id`` is the id the token was given (for a file: the one written there, replaced on loading by
    the id ``tokenizers`` would give it).
    """

    content: str
    id: int
    special: bool = True
    single_word: bool = False
    lstrip: bool = False
    rstrip: bool = False
    normalized: bool = False

    def options(self) -> tuple:
        return self.content, self.special, self.single_word, self.lstrip, self.rstrip, self.normalized

    def to_json(self) -> dict:
        return {"id": self.id, "content": self.content, "single_word": self.single_word, "lstrip": self.lstrip,
                "rstrip": self.rstrip, "normalized": self.normalized, "special": self.special}

    @classmethod
    def from_json(cls, data, path: str) -> AddedToken:
        fields = Fields(data, path)  # every field is required, as in tokenizers
        return cls(fields.string("content"), fields.integer("id"), fields.boolean("special"),
                   fields.boolean("single_word"), fields.boolean("lstrip"), fields.boolean("rstrip"),
                   fields.boolean("normalized"))


class AddedVocabulary:
    """The added tokens of a tokenizer, with the two matchers (raw text, normalized text)."""

    def __init__(self):
        self.by_id: dict[int, AddedToken] = {}
        self.ids: dict[str, int] = {}
        self.special_contents: set[str] = set()
        self.normalized_forms: dict[int, str] = {}  # id -> normalized content, where it differs
        self._raw: tuple[regex.Pattern, dict[str, int]] | None = None
        self._normalized: tuple[regex.Pattern, dict[str, int]] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def tokens(self) -> list[AddedToken]:
        """The added tokens in id order."""
        return [self.by_id[i] for i in sorted(self.by_id)]

    def add(self, tokens: Iterable[AddedToken], model, normalizer) -> None:
        """Add ``tokens`` in order, giving ids as ``tokenizers``' ``add_tokens`` does (see the module docstring)."""
        vocab_size = model.vocab_size()
        if self.by_id:
            top = max(self.by_id)
            next_id = top + 1 if top >= vocab_size or vocab_size == 0 else vocab_size
        else:
            next_id = vocab_size
        for token in tokens:
            if not token.content:
                continue
            known = self.ids.get(token.content)
            if known is not None and known in self.by_id and self.by_id[known].options() == token.options():
                continue
            token_id = known if known is not None else model.token_to_id(token.content)
            if token_id is None:
                token_id, next_id = next_id, next_id + 1
            if token.id != token_id:
                log.warning("added token %r: the file gives it id %d, tokenizers' rules give it id %d",
                            token.content, token.id, token_id)
            token = replace(token, id=token_id)
            self.normalized_forms.pop(token_id, None)
            if token.normalized and normalizer is not None:
                form = normalizer.normalize_str(token.content)  # may be empty: then it never matches
                if form != token.content:
                    self.normalized_forms[token_id] = form
            self.ids[token.content] = token_id
            if token.special:
                self.special_contents.add(token.content)
            self.by_id[token_id] = token
        self._raw = self._matcher(normalized=False)
        self._normalized = self._matcher(normalized=True)

    def _matcher(self, normalized: bool) -> tuple[regex.Pattern, dict[str, int]] | None:
        forms: dict[str, int] = {}
        for token_id, token in self.by_id.items():
            if token.normalized == normalized:
                form = self.normalized_forms.get(token_id, token.content) if normalized else token.content
                if form:
                    forms[form] = token_id
        if not forms:
            return None
        # longest first: at the leftmost position the first alternative that matches is the longest
        ordered = sorted(forms, key=len, reverse=True)
        return regex.compile("|".join(regex.escape(form) for form in ordered)), forms

    def token_to_id(self, content: str) -> int | None:
        return self.ids.get(content)

    def shown_form(self, token_id: int) -> str | None:
        """The string an id decodes to: the normalized form of a normalized token, else its content."""
        token = self.by_id.get(token_id)
        if token is None:
            return None
        return self.normalized_forms.get(token_id, token.content)

    # ------------------------------------------------------------------ matching
    def split_raw(self, text: str) -> list[tuple[int, int, int | None]]:
        """``(start, end, id or None)`` covering ``text``: the non-normalized added tokens and the text between."""
        return _find(text, self._raw, self.by_id)

    def split_normalized(self, text: str) -> list[tuple[int, int, int | None]]:
        """The same for the normalized added tokens, in normalized text."""
        return _find(text, self._normalized, self.by_id)

    @property
    def has_normalized(self) -> bool:
        return self._normalized is not None


def _find(text: str, matcher, by_id: dict[int, AddedToken]) -> list[tuple[int, int, int | None]]:
    if matcher is None or not text:
        return [(0, len(text), None)]
    pattern, forms = matcher
    out: list[tuple[int, int, int | None]] = []
    done = 0  # where the previous token (with the space it swallowed) ended
    for match in pattern.finditer(text):
        start, stop = match.span()
        token_id = forms[match.group()]
        token = by_id[token_id]
        if token.single_word:
            before = start == 0 or _WORD_AT_END.search(text, 0, start) is None
            after = stop == len(text) or _WORD_AT_START.match(text, stop) is None
            if not (before and after):
                continue
        if token.lstrip:
            left = start
            while left > 0 and text[left - 1] in _SPACE:
                left -= 1
            start = max(left, done)
        if token.rstrip:
            while stop < len(text) and text[stop] in _SPACE:
                stop += 1
        if done < start:
            out.append((done, start, None))
        out.append((start, stop, token_id))
        done = stop
    if done != len(text):
        out.append((done, len(text), None))
    return out

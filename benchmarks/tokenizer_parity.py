"""seqlab against Hugging Face ``tokenizers`` on any folder of ``tokenizer.json`` files: does each one load, and agree?

For every ``tokenizer.json`` given (files, or folders searched recursively for ``*.json`` holding a
``"model"``), both libraries load it and encode the same texts -- single texts and pairs, with and
without special tokens -- and decode the ids (with and without ``skip_special_tokens``). Compared:
ids, tokens, offsets, type ids, attention and special-token masks, decoded text. The texts are
lines of the shared datasets when ``SEQLAB_DATA_DIR`` is set (Tiny Shakespeare, the Gutenberg texts
read as Latin-1, fra-eng, WNUT-17 tweets) plus adversarial strings (unassigned and private-use code
points, combining marks, ZWJ emoji, right-to-left text, runs of spaces, tabs and newlines, special
tokens inside words).

One row per file: the pipeline's components, how many encodings and decodings were compared and how
many differed, and the first difference. A file seqlab refuses shows its one-line error.

    SEQLAB_DATA_DIR=../shared/data python benchmarks/tokenizer_parity.py path/to/models/ [--lines 200]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

# this folder holds benchmarks/tokenizers.py, named like the package compared against: keep it off the path
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import tokenizers as hf  # noqa: E402
from seqlab.errors import SeqlabError  # noqa: E402
from seqlab.text import Tokenizer  # noqa: E402

ADVERSARIAL = [
    "", " ", "  ", "\t\n", "a\u0300\u0301", "e\u0301", "  leading and trailing  ", "x  y   z", "Hello <mask> world",
    "un<mask>known", "<s>start</s>", "[CLS] [SEP] [MASK]", "<|endoftext|>x<|endoftext|>", "日本語のテキスト", "한국어",
    "🙂👍🏽👨\u200d👩\u200d👧", "ﬁ ﬂ Ⅳ ①", "\u0378\ufffe\U000e0080", "\ue000\uf8ff", "مرحبا بالعالم", "שלום עולם",
    "\u200b\u200d\u2060", "Ça va? Éclair", "tab\tsep\tvalues", "line1\nline2\r\nline3", "ΣΑΣ ǅ İ ß", "$100.50 €20",
    "a\x00b\x7f", "don't you're I'll", "co-operate e-mail", "123456789", "x" * 150, "   <s>  </s>  ", "ā\u0304",
    "\u0f73", "\u1100\u1161\u11a8", "\u0915\u093c", "a\u0332\u0305", "\u3000full\u3000width\uff21\uff42",
    "▁already▁spaced", "<0x41>", "ⓐ①㈠", "\u00ad soft\u00adhyphen", "word<unk>word",
]


def dataset_lines(data_dir: Path | None, n: int) -> list[str]:
    if data_dir is None:
        return []
    sources = [("tinyshakespeare/input.txt", "utf-8", None), ("gutenberg/austen-emma.txt", "latin-1", None),
               ("fra-eng/fra.txt", "utf-8", None), ("wnut17/wnut17train.conll", "utf-8", "conll")]
    lines: list[str] = []
    for name, encoding, kind in sources:
        path = data_dir / name
        if not path.is_file():
            continue
        raw = path.read_text(encoding=encoding).splitlines()
        if kind == "conll":  # one token per line: rebuild the tweets
            tweets, words = [], []
            for line in raw:
                if line.strip():
                    words.append(line.split("\t")[0])
                elif words:
                    tweets.append(" ".join(words))
                    words = []
            raw = tweets
        step = max(1, len(raw) // n)
        lines.extend(line for line in raw[::step][:n])
    return lines


def encode_both(ours: Tokenizer, theirs: hf.Tokenizer, text: str, pair: str | None, special: bool) -> str | None:
    """The first difference between the two encodings (None when they agree)."""
    try:
        b = theirs.encode(text, pair, add_special_tokens=special)
    except BaseException as error:  # tokenizers can panic, and PanicException is a BaseException
        if isinstance(error, KeyboardInterrupt):
            raise
        b = error
    try:
        a = ours.encode(text, pair, add_special_tokens=special)
    except SeqlabError as error:
        a = error
    if isinstance(a, BaseException) or isinstance(b, BaseException):
        if isinstance(a, BaseException) and isinstance(b, BaseException):
            return None
        return f"only one raised: seqlab {a!r:.80}, tokenizers {b!r:.80}"
    for name in ("ids", "tokens", "type_ids", "attention_mask", "special_tokens_mask"):
        if getattr(a, name) != getattr(b, name):
            return f"{name} on {text[:30]!r}: {getattr(a, name)[:8]} vs {getattr(b, name)[:8]}"
    if a.offsets != [tuple(o) for o in b.offsets]:
        first = next(i for i, (x, y) in enumerate(zip(a.offsets, b.offsets)) if x != tuple(y))
        return f"offsets on {text[:30]!r} at token {first}: {a.offsets[first]} vs {tuple(b.offsets[first])}"
    return None


def decode_both(ours: Tokenizer, theirs: hf.Tokenizer, ids: list[int], skip: bool) -> str | None:
    a, b = ours.decode(ids, skip_special_tokens=skip), theirs.decode(ids, skip_special_tokens=skip)
    return None if a == b else f"decode(skip={skip}): {a[:30]!r} vs {b[:30]!r}"


def components(path: Path) -> str:
    data = json.loads(path.read_text(encoding="utf-8"))

    def kind(entry):
        if entry is None:
            return "-"
        if entry.get("type") == "Sequence":
            inner = entry.get("normalizers") or entry.get("pretokenizers") or entry.get("processors") \
                or entry.get("decoders") or []
            return "+".join(kind(item) for item in inner)
        return entry.get("type", "(untyped)")

    model = data.get("model", {})
    return f"{model.get('type', '(untyped)')} | {kind(data.get('normalizer'))} | {kind(data.get('pre_tokenizer'))} | " \
           f"{kind(data.get('post_processor'))} | {kind(data.get('decoder'))}"


def compare_file(path: Path, texts: list[str]) -> dict:
    row = {"file": str(path), "components": "?", "encodings": 0, "encode_diffs": 0, "decodings": 0,
           "decode_diffs": 0, "first": ""}
    with contextlib.suppress(ValueError, AttributeError):
        row["components"] = components(path)
    try:
        theirs = hf.Tokenizer.from_file(str(path))
    except Exception as error:  # any failure of the reference means: nothing to compare
        row["first"] = f"tokenizers cannot load it: {str(error)[:80]}"
        return row
    start = time.perf_counter()
    try:
        ours = Tokenizer.from_file(path)
    except SeqlabError as error:
        row["first"] = f"seqlab refuses it: {error}"
        return row
    row["load_s"] = time.perf_counter() - start
    theirs.no_truncation()
    theirs.no_padding()
    ours.truncation = ours.padding = None
    for i, text in enumerate(texts):
        pair = texts[(i * 7 + 3) % len(texts)] if i % 3 == 0 else None
        for special in (True, False):
            row["encodings"] += 1
            problem = encode_both(ours, theirs, text, pair, special)
            if problem:
                row["encode_diffs"] += 1
                row["first"] = row["first"] or problem
        try:
            ids = theirs.encode(text).ids
        except BaseException as error:  # a panic of tokenizers
            if isinstance(error, KeyboardInterrupt):
                raise
            continue
        for skip in (True, False):
            row["decodings"] += 1
            problem = decode_both(ours, theirs, ids, skip)
            if problem:
                row["decode_diffs"] += 1
                row["first"] = row["first"] or problem
    return row


def tokenizer_files(paths: list[str]) -> list[Path]:
    found = []
    for name in paths:
        path = Path(name)
        candidates = sorted(path.rglob("*.json")) if path.is_dir() else [path]
        for candidate in candidates:
            try:
                head = candidate.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            if '"model"' in head:
                found.append(candidate)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="tokenizer.json files or folders holding them")
    parser.add_argument("--lines", type=int, default=150, help="lines taken from each dataset")
    args = parser.parse_args()
    data_dir = Path(os.environ["SEQLAB_DATA_DIR"]) if os.environ.get("SEQLAB_DATA_DIR") else None
    texts = dataset_lines(data_dir, args.lines) + ADVERSARIAL
    files = tokenizer_files(args.paths)
    print(f"tokenizers {hf.__version__}; {len(files)} files; {len(texts)} texts "
          f"({'with' if data_dir else 'without'} the shared datasets)\n")
    print("| file | model / normalizer / pre-tokenizer / post-processor / decoder | encodings (differ) | "
          "decodings (differ) | first difference |")
    print("|---|---|---|---|---|")
    for path in files:
        row = compare_file(path, texts)
        print(f"| {Path(row['file']).name} | {row['components']} | {row['encodings']} ({row['encode_diffs']}) | "
              f"{row['decodings']} ({row['decode_diffs']}) | {row['first'] or 'none'} |", flush=True)


if __name__ == "__main__":
    main()

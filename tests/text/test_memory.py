"""Encoding one long line must not need memory far beyond the encoding it returns (it used to need GBs for 10 MB).

Measured with ``tracemalloc`` for a BERT-style pipeline (normalizer, pre-tokenizer, WordPiece) on one line: the
peak of Python allocations while encoding was 196 bytes per character before the spans became arrays and views
and the pieces a stream, 44 after -- of which the returned encoding itself holds 35.
(``benchmarks/`` figures and the report give peak RSS in a fresh process for 10 MB lines.)
"""

from __future__ import annotations

import tracemalloc

from seqlab.text import Tokenizer, WordPieceTrainer

CORPUS = ["The time traveller (for so it will be convenient) was expounding a recondite matter to us.",
          "His grey eyes shone and twinkled, and his usually pale face was flushed and animated, cafe."] * 20


def test_one_long_line_needs_little_beyond_its_encoding():
    tok = Tokenizer.wordpiece()
    tok.train_from_iterator(CORPUS, WordPieceTrainer(vocab_size=200))
    line = " ".join(CORPUS * 100)[:150_000].replace("cafe", "café")  # the accents make the normalizers work
    tracemalloc.start()
    try:
        encoding = tok.encode(line)
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(encoding) > 25_000
    assert peak / len(line) < 80, peak / len(line)
    assert peak < 1.6 * kept, (peak, kept)

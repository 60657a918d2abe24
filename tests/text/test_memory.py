"""Encoding one long line must not need memory far beyond the encoding it returns (it used to need GBs for 10 MB).

Measured in a fresh process (peak RSS from ``resource``), as bytes of extra peak memory per input character, for
a BERT-style pipeline (normalizer, pre-tokenizer, WordPiece): it took 212 bytes per character before the spans
became arrays and views and the pieces a stream, 55 after.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import resource, sys
    from seqlab.text import BpeTrainer, Tokenizer, WordPieceTrainer
    corpus = ["The time traveller (for so it will be convenient) was expounding a recondite matter to us.",
              "His grey eyes shone and twinkled, and his usually pale face was flushed and animated, cafe."] * 20
    kind = sys.argv[1]
    tok = Tokenizer.wordpiece() if kind == "wordpiece" else Tokenizer.byte_level_bpe()
    tok.train_from_iterator(corpus, WordPieceTrainer(vocab_size=200) if kind == "wordpiece"
                            else BpeTrainer(vocab_size=300))
    line = " ".join(corpus * 300)[:1_500_000].replace("cafe", "café")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    encoding = tok.encode(line)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print((after - before) * 1024 / len(line), len(encoding))
""")


def test_one_long_line_needs_tens_of_bytes_per_character():
    result = subprocess.run([sys.executable, "-c", SCRIPT, "wordpiece"], capture_output=True, text=True, check=True)
    per_character, tokens = result.stdout.split()
    assert int(tokens) > 200_000
    # the returned encoding alone takes about 30 bytes per character here (token tuples, ids, masks)
    assert float(per_character) < 90, per_character

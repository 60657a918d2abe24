"""Corpus BLEU (Papineni et al. 2002) through sacrebleu, the reference implementation.

    BLEU = BP * exp( (1/4) sum_{n=1..4} ln p_n ),   BP = min(1, exp(1 - r / c))

with p_n the clipped n-gram precisions over the corpus, c the hypotheses' length and r the
references'. sacrebleu's default ``13a`` tokenisation makes scores comparable across papers.
"""

from __future__ import annotations

from collections.abc import Sequence

from seqlab.errors import SeqlabError


def bleu(hypotheses: Sequence[str], references: Sequence[str] | Sequence[Sequence[str]], *,
         pretokenized: bool = False) -> float:
    """Corpus BLEU in [0, 100]; ``references`` is one reference per hypothesis, or several lists of them.

    ``pretokenized=True`` says both sides are already split into tokens on purpose (as the
    translation task's are), which silences sacrebleu's warning about tokenized input.
    """
    try:
        import sacrebleu
    except ImportError:
        raise SeqlabError("BLEU needs the sacrebleu package: pip install sacrebleu") from None
    if len(hypotheses) == 0:
        raise SeqlabError("hypotheses: expected at least one sentence, got none")
    streams = [list(references)] if references and isinstance(references[0], str) else [list(r) for r in references]
    for stream in streams:
        if len(stream) != len(hypotheses):
            raise SeqlabError(f"references: expected {len(hypotheses)} sentences (one per hypothesis), "
                              f"got {len(stream)}")
    return float(sacrebleu.corpus_bleu(list(hypotheses), streams, force=pretokenized).score)


__all__ = ["bleu"]

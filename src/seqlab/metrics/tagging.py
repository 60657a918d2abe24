"""Entity-level precision, recall and F1 with exact span matching (the WNUT-17 and CoNLL measure).

A predicted entity counts only if its type, first and last token all equal a gold entity's:

    precision = |pred ∩ gold| / |pred|,  recall = |pred ∩ gold| / |gold|,  F1 = 2PR / (P + R)

Spans are read as conlleval does: an entity starts at B-x, or at I-x that does not continue an
entity of type x, and runs over the following I-x.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def bio_spans(tags: Sequence[str]) -> set[tuple[int, int, str]]:
    """Entities of a BIO sequence as (first, last, type), conlleval's reading of stray I- tags.

    Example:
        >>> sorted(bio_spans(["B-per", "I-per", "O", "I-loc", "B-loc"]))
        [(0, 1, 'per'), (3, 3, 'loc'), (4, 4, 'loc')]
    """
    spans, start, kind = set(), None, None
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, label = tag.partition("-")
        continues = prefix == "I" and kind == label
        if start is not None and not continues:
            spans.add((start, i - 1, kind))
            start, kind = None, None
        if prefix == "B" or (prefix == "I" and not continues):
            start, kind = i, label
    return spans


def entity_scores(gold: Iterable[Sequence[str]], predicted: Iterable[Sequence[str]]) -> dict[str, float]:
    """Exact-span precision, recall and F1 (fractions) over sentences of BIO tags.

    Example:
        >>> entity_scores([["B-per", "O", "B-loc"]], [["B-per", "O", "O"]])
        {'precision': 1.0, 'recall': 0.5, 'f1': 0.6666666666666666}
    """
    hits = n_gold = n_pred = 0
    for g, p in zip(gold, predicted, strict=True):
        g_spans, p_spans = bio_spans(g), bio_spans(p)
        hits += len(g_spans & p_spans)
        n_gold += len(g_spans)
        n_pred += len(p_spans)
    precision = hits / n_pred if n_pred else 0.0
    recall = hits / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


__all__ = ["bio_spans", "entity_scores"]

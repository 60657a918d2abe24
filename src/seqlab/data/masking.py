"""Masked-language-model corruption (Devlin et al. 2019): BERT's 15% of positions and its 80/10/10 rule.

Of the maskable positions (not special, not padding) each is chosen with probability p = 0.15;
a chosen position then becomes

    [MASK]          with probability 0.8
    a random id     with probability 0.1   (uniform over the whole vocabulary, as BERT and
                                            Hugging Face's DataCollatorForLanguageModeling draw it)
    itself          with probability 0.1

and its label is its original id; every other position is labelled ``IGNORE_INDEX`` (-100), which
``F.cross_entropy`` skips, so the loss is the mean over the chosen positions only:

    L_MLM = -(1/|C|) sum_{t in C} ln p(x_t | x~)

Three draws decide everything, in this order, from one generator: the choice (uniform < p), the
fate (one uniform: < 0.8 mask, < 0.9 random, else keep), then the random ids. Drawing the masks
again for every batch, instead of once for the whole corpus, is RoBERTa's "dynamic masking"
(Liu et al. 2019); ``seqlab.data.pretraining`` does that.

Example:
    >>> ids = torch.tensor([[2, 10, 11, 12, 13, 3]])          # [CLS] ... [SEP]
    >>> inputs, labels = mask_tokens(ids, 20, mask_id=4, special_ids=(2, 3), mlm_probability=0.5,
    ...                              generator=torch.Generator().manual_seed(0))
    >>> labels[0, 0].item(), labels[0, -1].item()           # the specials are never chosen
    (-100, -100)
    >>> bool(((labels == -100) | (labels == ids)).all())
    True
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from seqlab.data.batching import IGNORE_INDEX
from seqlab.errors import SeqlabError

MASK_SHARE, RANDOM_SHARE = 0.8, 0.1  # of the chosen positions; the remaining 0.1 keep their id


def mask_tokens(input_ids: torch.Tensor, vocab_size: int, mask_id: int, special_ids: Iterable[int] = (),
                mlm_probability: float = 0.15, is_real: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked-language-model corruption with BERT's 80/10/10 rule.

    Args:
        input_ids: (B, T) token ids; not modified.
        vocab_size: random replacements are drawn uniformly from [0, vocab_size).
        mask_id: the [MASK] id. special_ids: ids never chosen ([CLS], [SEP], [PAD], ...).
        mlm_probability: p, the share of maskable positions chosen.
        is_real: optional (B, T) boolean, False on padding (never chosen).
        generator: the source of the three draws (None: torch's global generator).

    Returns:
        ``(inputs, labels)``, both new (B, T) tensors: labels hold the original id at the chosen
        positions and -100 elsewhere.
    """
    if not 0.0 < mlm_probability < 1.0:
        raise SeqlabError(f"mlm_probability: expected a probability in (0, 1), got {mlm_probability}")
    device = input_ids.device
    maskable = torch.ones_like(input_ids, dtype=torch.bool)
    for special in special_ids:
        maskable &= input_ids != special
    if is_real is not None:
        maskable &= is_real

    def uniform() -> torch.Tensor:
        return torch.rand(input_ids.shape, generator=generator, device=device)

    chosen = (uniform() < mlm_probability) & maskable
    labels = input_ids.masked_fill(~chosen, IGNORE_INDEX)
    rule = uniform()  # one draw decides between the three fates of a chosen position
    to_mask = chosen & (rule < MASK_SHARE)  # 80%: [MASK]
    to_random = chosen & (rule >= MASK_SHARE) & (rule < MASK_SHARE + RANDOM_SHARE)  # 10%: random; 10% keep theirs
    random_ids = torch.randint(vocab_size, input_ids.shape, generator=generator, device=device)
    inputs = input_ids.masked_fill(to_mask, mask_id)
    inputs = torch.where(to_random, random_ids, inputs)
    return inputs, labels


__all__ = ["MASK_SHARE", "RANDOM_SHARE", "mask_tokens"]

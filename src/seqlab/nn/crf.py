"""A linear-chain conditional random field: the forward algorithm and Viterbi decoding.

For emissions e_t(y) (a network's score of tag y at position t, t = 1..T) and a tag sequence
y = (y_1, ..., y_T), the CRF scores the whole sequence (Lafferty et al. 2001; Lample et al. 2016):

    s(y) = start[y_1] + sum_{t=1}^{T} e_t(y_t) + sum_{t=2}^{T} A[y_{t-1}, y_t] + end[y_T]
    p(y | x) = exp s(y) / Z,        Z = sum_{y'} exp s(y')       (K^T sequences)

The forward algorithm computes log Z in O(T K^2) with the recursion

    alpha_1(j) = start[j] + e_1(j)
    alpha_t(j) = logsumexp_i (alpha_{t-1}(i) + A[i, j]) + e_t(j)
    log Z      = logsumexp_j (alpha_T(j) + end[j])

and Viterbi replaces logsumexp by max (keeping the argmax as a back-pointer) to find
argmax_y s(y). The training loss is the negative log-likelihood log Z - s(y_true).

Padding: positions where ``is_pad`` is True (after each sequence's length) leave alpha
unchanged, so every sequence ends at its own last real token.

Constraints: ``allowed`` (K, K), True where the transition i -> j may occur (BIO forbids
O -> I-x and B-x -> I-y); ``allowed_start`` (K,) the same for the first tag. Forbidden moves
score -10^4, i.e. probability 0 in float32.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from seqlab import checks as _checks
from seqlab.errors import SeqlabError

FORBIDDEN = -1e4


class CRF(nn.Module):
    """Linear-chain CRF over K tags with learned transitions ``transitions[i, j]`` (i -> j), ``start``, ``end``.

    Shape:
        emissions (B, T, K); tags (B, T) long; is_pad (B, T) bool, True at padding (each row
        must start with a real token).

    Example:
        >>> crf = CRF(3)
        >>> emissions = torch.randn(2, 4, 3)
        >>> crf.nll(emissions, torch.zeros(2, 4, dtype=torch.long)).shape
        torch.Size([2])
        >>> len(crf.decode(emissions)[0])
        4
    """

    def __init__(self, num_tags: int, allowed: torch.Tensor | None = None, allowed_start: torch.Tensor | None = None):
        super().__init__()
        self.num_tags = num_tags = _checks.positive_int(num_tags, "num_tags")
        self.transitions = nn.Parameter(torch.zeros(num_tags, num_tags))
        self.start = nn.Parameter(torch.zeros(num_tags))
        self.end = nn.Parameter(torch.zeros(num_tags))
        allowed = _constraint(allowed, "allowed", (num_tags, num_tags))
        allowed_start = _constraint(allowed_start, "allowed_start", (num_tags,))
        self.register_buffer("allowed", allowed)
        self.register_buffer("allowed_start", allowed_start)
        nn.init.uniform_(self.transitions, -0.1, 0.1)

    def _scores(self, emissions: torch.Tensor):
        """The transition and start scores with forbidden moves set to FORBIDDEN."""
        forbid = torch.tensor(FORBIDDEN, dtype=emissions.dtype, device=emissions.device)
        A = torch.where(self.allowed, self.transitions.to(emissions.dtype), forbid)  # (K, K)
        start = torch.where(self.allowed_start, self.start.to(emissions.dtype), forbid)  # (K,)
        return A, start, self.end.to(emissions.dtype)

    def _check(self, emissions: torch.Tensor, is_pad: torch.Tensor | None, tags: torch.Tensor | None = None):
        _checks.tensor(emissions, "emissions", f"(B, T, {self.num_tags})")
        if emissions.dim() != 3 or emissions.shape[-1] != self.num_tags or emissions.shape[1] == 0:
            raise SeqlabError(f"emissions: expected (B, T, {self.num_tags}) with T >= 1, got {tuple(emissions.shape)}")
        if not emissions.is_floating_point():
            raise SeqlabError(f"emissions: expected floating-point scores, got dtype {emissions.dtype}")
        B, T, _ = emissions.shape
        if tags is not None:
            _checks.tensor(tags, "tags", f"({B}, {T})")
            if tuple(tags.shape) != (B, T) or tags.is_floating_point() or tags.dtype == torch.bool:
                raise SeqlabError(f"tags: expected integer tag ids of shape ({B}, {T}), "
                                  f"got shape {tuple(tags.shape)} and dtype {tags.dtype}")
        if is_pad is None:
            return torch.zeros(B, T, dtype=torch.bool, device=emissions.device)
        _checks.tensor(is_pad, "is_pad", f"({B}, {T})")
        if tuple(is_pad.shape) != (B, T) or is_pad.dtype != torch.bool:
            raise SeqlabError(f"is_pad: expected a boolean ({B}, {T}), got shape {tuple(is_pad.shape)} "
                              f"and dtype {is_pad.dtype}")
        if T > 0 and bool(is_pad[:, 0].any()):
            raise SeqlabError("is_pad: every sequence needs at least one real token at position 0")
        return is_pad

    def score(self, emissions: torch.Tensor, tags: torch.Tensor, is_pad: torch.Tensor | None = None) -> torch.Tensor:
        """s(y) of the given tags, (B,)."""
        is_pad = self._check(emissions, is_pad, tags)
        A, start, end = self._scores(emissions)
        real = (~is_pad).to(emissions.dtype)  # (B, T)
        tags = tags.masked_fill(is_pad, 0)
        emitted = emissions.gather(-1, tags.unsqueeze(-1)).squeeze(-1)  # e_t(y_t), (B, T)
        moves = A[tags[:, :-1], tags[:, 1:]]  # A[y_{t-1}, y_t], (B, T - 1)
        last = tags.gather(1, ((~is_pad).sum(1, keepdim=True) - 1)).squeeze(1)  # y_T of each row, (B,)
        return start[tags[:, 0]] + (emitted * real).sum(1) + (moves * real[:, 1:]).sum(1) + end[last]

    def log_partition(self, emissions: torch.Tensor, is_pad: torch.Tensor | None = None) -> torch.Tensor:
        """log Z by the forward algorithm, (B,)."""
        is_pad = self._check(emissions, is_pad)
        A, start, end = self._scores(emissions)
        alpha = start + emissions[:, 0]  # alpha_1, (B, K)
        for t in range(1, emissions.shape[1]):
            # alpha_t(j) = logsumexp_i (alpha_{t-1}(i) + A[i, j]) + e_t(j)
            step = torch.logsumexp(alpha.unsqueeze(2) + A, dim=1) + emissions[:, t]  # (B, K, 1) + (K, K) -> (B, K)
            alpha = torch.where(is_pad[:, t:t + 1], alpha, step)  # padding keeps alpha
        return torch.logsumexp(alpha + end, dim=1)  # log Z = logsumexp_j (alpha_T(j) + end[j])

    def nll(self, emissions: torch.Tensor, tags: torch.Tensor, is_pad: torch.Tensor | None = None) -> torch.Tensor:
        """-log p(y | x) = log Z - s(y) of every sequence, (B,)."""
        return self.log_partition(emissions, is_pad) - self.score(emissions, tags, is_pad)

    def forward(self, emissions: torch.Tensor, tags: torch.Tensor, is_pad: torch.Tensor | None = None) -> torch.Tensor:
        """The negative log-likelihood of every sequence, (B,): ``nll``."""
        return self.nll(emissions, tags, is_pad)

    @torch.no_grad()
    def decode(self, emissions: torch.Tensor, is_pad: torch.Tensor | None = None) -> list[list[int]]:
        """argmax_y s(y) by Viterbi: one list of tag ids per sequence, as long as the sequence."""
        is_pad = self._check(emissions, is_pad)
        A, start, end = self._scores(emissions)
        B, T, K = emissions.shape
        delta = start + emissions[:, 0]  # best score of a path ending in each tag, (B, K)
        pointers = []
        for t in range(1, T):
            candidates = delta.unsqueeze(2) + A  # (B, K_prev, K)
            best, argbest = candidates.max(dim=1)  # (B, K)
            step = best + emissions[:, t]
            keep = is_pad[:, t:t + 1]
            delta = torch.where(keep, delta, step)
            # a padded step points every tag to itself, so backtracking passes through unchanged
            identity = torch.arange(K, device=emissions.device).expand(B, K)
            pointers.append(torch.where(keep, identity, argbest))
        last = (delta + end).argmax(dim=1)  # (B,)
        paths = [last]
        for back in reversed(pointers):
            last = back.gather(1, last.unsqueeze(1)).squeeze(1)
            paths.append(last)
        best_paths = torch.stack(paths[::-1], dim=1)  # (B, T)
        lengths = (~is_pad).sum(1).tolist()
        return [best_paths[b, :n].tolist() for b, n in enumerate(lengths)]


def _constraint(mask, name: str, shape: tuple[int, ...]) -> torch.Tensor:
    """An ``allowed`` mask: boolean (or 0/1 integers) of the given shape; all True when None."""
    if mask is None:
        return torch.ones(shape, dtype=torch.bool)
    _checks.tensor(mask, name, str(shape))
    if tuple(mask.shape) != shape or mask.is_floating_point() or mask.is_complex():
        raise SeqlabError(f"{name}: expected a boolean tensor of shape {shape}, got shape {tuple(mask.shape)} "
                          f"and dtype {mask.dtype}")
    return mask.bool()


def bio_constraints(labels: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Allowed transitions (K, K) and starts (K,) of BIO tags: I-x only after B-x or I-x.

    Example:
        >>> allowed, starts = bio_constraints(["O", "B-loc", "I-loc"])
        >>> bool(allowed[0, 2]), bool(allowed[1, 2]), bool(starts[2])
        (False, True, False)
    """
    K = len(labels)
    allowed = torch.ones(K, K, dtype=torch.bool)
    starts = torch.ones(K, dtype=torch.bool)
    for j, to in enumerate(labels):
        if to.startswith("I-"):
            starts[j] = False
            for i, frm in enumerate(labels):
                allowed[i, j] = frm[2:] == to[2:] and frm[:2] in ("B-", "I-")
    return allowed, starts

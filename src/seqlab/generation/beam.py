"""Beam search with length normalisation (Wu et al. 2016, simplified), for seq2seq models and LMs.

At every step each of the K hypotheses of a sentence is extended by every token; the K best
extensions by total log-probability survive. A hypothesis that emits ``eos_id`` is finished and
ranked by its length-normalised score

    score(y) = log p(y | x) / |y|^α        (|y| counts the generated tokens, eos included)

α = 0 ranks by raw log-probability (favouring short outputs); α = 1 by the mean per token.
A sentence stops when no live hypothesis can still beat its best finished one: a live score s
(<= 0, and it can only fall) can at best become s / L^α with L the longest allowed length.
So with a beam as wide as the search space the result is the exact best sequence (tested).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from seqlab.errors import SeqlabError
from seqlab.generation.decode import StepFn, map_state


@dataclass
class Hypothesis:
    """One output: the generated ids (eos removed), its log-probability and normalised score.

    ``ended`` is True when the hypothesis emitted ``eos_id``, False when it ran out of steps.
    """

    tokens: list[int]
    log_prob: float
    score: float
    ended: bool = True


@torch.no_grad()
def beam_search(step: StepFn, state, start: torch.Tensor, max_new_tokens: int, beam_size: int = 4,
                eos_id: int | None = None, length_penalty: float = 1.0) -> list[Hypothesis]:
    """The best hypothesis for each row of ``start`` (B, t0); ``step`` as in ``seqlab.generation.decode``.

    Returns B ``Hypothesis`` objects. Without ``eos_id`` every hypothesis runs ``max_new_tokens`` steps.
    """
    if beam_size < 1:
        raise SeqlabError(f"beam_size: expected a positive integer, got {beam_size}")
    if start.dim() != 2 or start.shape[1] == 0:
        raise SeqlabError(f"start: expected token ids (B, t0) with t0 >= 1, got shape {tuple(start.shape)}")
    if length_penalty < 0:
        raise SeqlabError(f"length_penalty: expected α >= 0, got {length_penalty}")
    B, t0, K = start.shape[0], start.shape[1], beam_size
    alpha = length_penalty
    tokens = start.repeat_interleave(K, dim=0)  # (B*K, t0): K copies of each row, side by side
    state = map_state(state, lambda t: t.repeat_interleave(K, dim=0))
    scores = torch.full((B, K), float("-inf"), device=start.device, dtype=torch.float64)
    scores[:, 0] = 0.0  # the copies are identical: expand only the first at step one
    finished: list[list[Hypothesis]] = [[] for _ in range(B)]
    done = [False] * B

    for t in range(1, max_new_tokens + 1):
        logits, state = step(tokens, state)
        log_probs = logits.double().log_softmax(dim=-1)  # (B*K, V)
        V = log_probs.shape[-1]
        candidates = (scores[:, :, None] + log_probs.view(B, K, V)).view(B, K * V)  # (B, K*V)
        top_scores, top_index = candidates.topk(min(2 * K, K * V), dim=-1)  # 2K: room for K live after eos
        origin = torch.zeros(B, K, dtype=torch.long, device=start.device)
        new_tokens = torch.zeros(B, K, dtype=torch.long, device=start.device)
        new_scores = torch.full((B, K), float("-inf"), device=start.device, dtype=torch.float64)
        for b in range(B):
            if done[b]:
                continue
            live = 0
            for score, index in zip(top_scores[b].tolist(), top_index[b].tolist()):
                if score == float("-inf") or live == K:
                    break
                beam, token = divmod(index, V)
                if eos_id is not None and token == eos_id:
                    generated = tokens[b * K + beam, t0:].tolist()
                    finished[b].append(Hypothesis(generated, score, score / t ** alpha))
                else:
                    origin[b, live], new_tokens[b, live], new_scores[b, live] = beam, token, score
                    live += 1
            best_live = float(new_scores[b].max())
            if finished[b] and (best_live == float("-inf") or
                                max(h.score for h in finished[b]) >= best_live / max_new_tokens ** alpha):
                done[b] = True  # no live hypothesis can overtake the best finished one
        if all(done):
            break
        select = (torch.arange(B, device=start.device)[:, None] * K + origin).view(-1)  # (B*K,)
        tokens = torch.cat((tokens.index_select(0, select), new_tokens.view(-1, 1)), dim=1)
        state = map_state(state, lambda x, select=select: x.index_select(0, select))
        scores = new_scores

    results = []
    for b in range(B):
        if not done[b]:  # out of steps: the live hypotheses compete at their current length
            length = tokens.shape[1] - t0
            for k in range(K):
                score = float(scores[b, k])
                if score > float("-inf"):
                    finished[b].append(Hypothesis(tokens[b * K + k, t0:].tolist(), score,
                                                  score / max(length, 1) ** alpha, ended=False))
        results.append(max(finished[b], key=lambda h: h.score))
    return results

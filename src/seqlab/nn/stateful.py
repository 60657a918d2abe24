"""Carrying recurrent state across batches, for truncated BPTT over a long token stream.

Example:
    >>> from seqlab.nn import LSTM
    >>> stream = torch.arange(1000)
    >>> lstm, state = LSTM(1, 8), None
    >>> for inputs, targets in stream_batches(stream, batch_size=4, seq_len=35):
    ...     output, state = lstm(inputs.unsqueeze(-1).float(), state)
    ...     state = detach_state(state)   # keep the values, cut the graph
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from seqlab import checks as _checks
from seqlab.errors import SeqlabError


def detach_state(state):
    """Detach a hidden state (a tensor, or a tuple such as an LSTM's (h, c)) from its graph."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return type(state)(detach_state(s) for s in state)


def stream_batches(stream: torch.Tensor, batch_size: int, seq_len: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Cut a 1-D token stream into ``batch_size`` parallel streams and walk them in chunks.

    The stream is trimmed to a multiple of ``batch_size`` and laid out as B contiguous
    columns (as in Zaremba et al. 2014 and PyTorch's word_language_model), so row b of chunk
    k + 1 continues row b of chunk k and a state carried between chunks stays meaningful.

    Yields:
        ``(inputs, targets)``, each (T, B) with T <= seq_len, targets the inputs shifted by one.
    """
    _checks.tensor(stream, "stream", "(N,) of token ids")
    if stream.dim() != 1:
        raise SeqlabError(f"stream: expected a 1-D tensor of token ids, got shape {tuple(stream.shape)}")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    seq_len = _checks.positive_int(seq_len, "seq_len")
    columns = stream.shape[0] // batch_size
    if columns < 2:
        raise SeqlabError(f"stream: {stream.shape[0]} tokens are too few for batch_size={batch_size}")
    data = stream[: columns * batch_size].view(batch_size, columns).t()  # (N, B)
    for start in range(0, columns - 1, seq_len):
        T = min(seq_len, columns - 1 - start)
        yield data[start : start + T], data[start + 1 : start + 1 + T]

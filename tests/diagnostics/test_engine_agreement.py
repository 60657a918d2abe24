"""Per-step gradient norms from autograd (reference loop) equal those of the hand-written ``bptt``
engine's own backward, read as the gradient of a restarted sequence's initial state."""

import pytest
import torch

from seqlab.diagnostics import gradient_flow, gradient_flow_from_engine
from seqlab.errors import SeqlabError
from seqlab.nn import GRU, LSTM, RNN

CASES = [(RNN, {}), (RNN, {"nonlinearity": "relu"}), (LSTM, {}), (LSTM, {"peephole": True, "coupled": True}),
         (GRU, {}), (GRU, {"reset_after": False})]


def grad_fn_names(tensor: torch.Tensor) -> set[str]:
    names, stack, seen = set(), [tensor.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.add(type(node).__name__)
        stack.extend(next_node for next_node, _ in node.next_functions)
    return names


@pytest.mark.parametrize("cls, options", CASES)
@pytest.mark.parametrize("loss", ["last", "every"])
def test_autograd_norms_equal_the_bptt_engines_own_backward(cls, options, loss):
    torch.manual_seed(4)
    layer = cls(3, 5, batch_first=True, dtype=torch.float64, **options)
    x = torch.randn(2, 9, 3, dtype=torch.float64)
    autograd = gradient_flow(layer, x, loss=loss).grad_h[0, 0]
    engine = gradient_flow_from_engine(layer, x, engine="bptt", loss=loss).grad_h[0, 0]
    torch.testing.assert_close(engine, autograd, rtol=1e-10, atol=1e-14)
    assert layer.engine == "auto"  # restored afterwards
    # the numbers above really came from the engine's hand-written Function
    layer.engine = "bptt"
    assert any(name.endswith("FunctionBackward") for name in grad_fn_names(layer(x)[0]))


def test_the_restart_method_is_limited_to_one_unidirectional_layer():
    with pytest.raises(SeqlabError, match="single-layer, unidirectional"):
        gradient_flow_from_engine(LSTM(2, 3, num_layers=2), torch.randn(4, 1, 2))

"""The recurrent language model: shapes, tying, carried-state generation, and that it learns."""

import pytest
import torch

from seqlab.errors import SeqlabError
from seqlab.models.rnn_lm import RecurrentLanguageModel


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_overfits_a_tiny_batch(cell):
    torch.manual_seed(0)
    model = RecurrentLanguageModel(11, 16, 32, num_layers=2, cell=cell)
    data = torch.randint(11, (4, 13))
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        logits, _ = model(data[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 11), data[:, 1:].reshape(-1))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    assert loss.item() < 0.1  # from ln(11) = 2.4


def test_generation_with_carried_state_equals_recomputing_the_prefix():
    torch.manual_seed(0)
    model = RecurrentLanguageModel(7, 8, 12, num_layers=2).eval()
    prompt = torch.tensor([[1, 2, 3]])
    out = model.generate(prompt, 6, temperature=0)
    assert out.shape == (1, 9) and torch.equal(out[:, :3], prompt)
    for t in range(3, 9):
        logits, _ = model(out[:, :t])
        assert logits[0, -1].argmax().item() == out[0, t].item()


def test_tied_weights_share_one_matrix():
    model = RecurrentLanguageModel(10, 6, 6, tie_weights=True)
    assert model.head.weight is model.embedding.weight
    with pytest.raises(SeqlabError, match="tie_weights needs embedding_dim == hidden_size"):
        RecurrentLanguageModel(10, 6, 8, tie_weights=True)
    with pytest.raises(SeqlabError, match=r"inputs: expected token ids of shape \(B, T\)"):
        model(torch.zeros(3, dtype=torch.long))

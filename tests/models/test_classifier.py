"""SequenceClassifier: padding never changes a prediction, each encoder learns, word vectors load."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from seqlab.errors import SeqlabError
from seqlab.models.classifier import SequenceClassifier


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: on a shared 2-core machine a second thread mostly waits at barriers."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize(("encoder", "pooling"), [("lstm", "max"), ("gru", "mean"), ("lstm", "last"),
                                                  ("transformer", "max"), ("transformer", "mean")])
def test_padding_does_not_change_the_logits(encoder, pooling):
    torch.manual_seed(0)
    model = SequenceClassifier(30, 3, embedding_dim=8, arch=encoder, hidden_size=12, nhead=2, pooling=pooling,
                               dropout=0.0).double().eval()
    short = torch.randint(1, 30, (1, 4))
    padded = torch.cat([short, torch.zeros(1, 3, dtype=torch.long)], dim=1)  # (1, 7) with 3 pads
    alone = model(short, torch.tensor([4]))
    in_batch = model(torch.cat([padded, torch.randint(1, 30, (1, 7))]), torch.tensor([4, 7]))[:1]
    torch.testing.assert_close(alone, in_batch, rtol=1e-10, atol=1e-10)


def test_last_pooling_reads_both_directions_final_states():
    torch.manual_seed(0)
    model = SequenceClassifier(20, 2, embedding_dim=6, hidden_size=5, pooling="last", dropout=0.0).eval()
    inputs = torch.randint(1, 20, (2, 6))
    lengths = torch.tensor([6, 3])
    h, _ = model.encoder(model.embedding(inputs), lengths=lengths)  # (B, T, 2H)
    forward_last = torch.stack([h[0, 5, :5], h[1, 2, :5]])
    backward_first = h[:, 0, 5:]
    expected = model.head(torch.cat([forward_last, backward_first], dim=-1))
    torch.testing.assert_close(model(inputs, lengths), expected)


@pytest.mark.parametrize("encoder", ["lstm", "gru", "transformer"])
def test_it_learns_a_tiny_batch(encoder):
    torch.manual_seed(0)
    model = SequenceClassifier(20, 2, embedding_dim=16, arch=encoder, hidden_size=16, nhead=2, dropout=0.0)
    inputs, lengths = torch.randint(1, 20, (8, 6)), torch.tensor([6, 5, 4, 6, 3, 6, 2, 6])
    labels = torch.tensor([0, 1, 0, 1, 1, 0, 1, 0])
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(60):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(inputs, lengths), labels)
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05
    assert (model(inputs, lengths).argmax(-1) == labels).all()


def test_word_vectors_initialise_the_embedding():
    model = SequenceClassifier(5, 2, embedding_dim=3, hidden_size=4)
    vectors = torch.arange(15, dtype=torch.float32).reshape(5, 3)
    model.load_vectors(vectors, freeze=True)
    assert torch.equal(model.embedding.weight[1:], vectors[1:])
    assert torch.equal(model.embedding.weight[0], torch.zeros(3))  # the pad row stays zero
    assert not model.embedding.weight.requires_grad
    with pytest.raises(SeqlabError, match=r"expected shape \(5, 3\), got \(4, 3\)"):
        model.load_vectors(torch.zeros(4, 3))


def test_bad_arguments():
    with pytest.raises(SeqlabError, match="arch: expected one of"):
        SequenceClassifier(5, 2, arch="cnn")
    with pytest.raises(SeqlabError, match="needs a recurrent encoder"):
        SequenceClassifier(5, 2, arch="transformer", pooling="last")
    with pytest.raises(SeqlabError, match=r"expected token ids of shape \(B, T\)"):
        SequenceClassifier(5, 2)(torch.zeros(3, dtype=torch.long))

"""The BiLSTM-CRF tagger: shapes, padding, and that it learns a tiny tagging rule."""

import pytest
import torch

from seqlab.errors import SeqlabError
from seqlab.models.tagger import BiLSTMCRFTagger
from seqlab.nn.crf import bio_constraints


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors gain nothing from threads, and on a shared loaded machine two threads spin-wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_padding_does_not_change_a_sentence():
    tagger = BiLSTMCRFTagger(vocab_size=30, num_tags=3, char_vocab_size=10, embedding_dim=8, char_dim=4,
                             char_filters=5, hidden_size=6, dropout=0.0).eval()
    words, chars = torch.randint(2, 30, (1, 4)), torch.randint(1, 10, (1, 4, 5))
    padded_words = torch.cat([words, torch.zeros(1, 3, dtype=torch.long)], 1)
    padded_chars = torch.cat([chars, torch.zeros(1, 3, 5, dtype=torch.long)], 1)
    alone = tagger(words, torch.tensor([4]), chars)
    padded = tagger(padded_words, torch.tensor([4]), padded_chars)
    torch.testing.assert_close(padded[:, :4], alone, atol=1e-6, rtol=0)
    tags = torch.tensor([[0, 1, 2, 0]])
    torch.testing.assert_close(tagger.nll(padded_words, torch.tensor([4]), torch.cat([tags, tags[:, :3]], 1),
                                          padded_chars), tagger.nll(words, torch.tensor([4]), tags, chars))


def test_characters_are_required_when_configured():
    tagger = BiLSTMCRFTagger(vocab_size=10, num_tags=2, char_vocab_size=5)
    with pytest.raises(SeqlabError, match="chars"):
        tagger(torch.ones(1, 3, dtype=torch.long), torch.tensor([3]))


def test_it_learns_capitalised_words_are_entities():
    """Overfit a toy rule that only the characters reveal: a capitalised word is B-x, others O."""
    g = torch.Generator().manual_seed(0)
    labels = ["O", "B-x", "I-x"]
    allowed, starts = bio_constraints(labels)
    B, T, W = 16, 6, 4
    chars = torch.randint(2, 12, (B, T, W), generator=g)  # 2..11 lower case, 12..21 upper case
    capital = torch.rand(B, T, generator=g) < 0.3
    chars[:, :, 0] += 10 * capital
    words = torch.ones(B, T, dtype=torch.long)  # every word is <unk>: the word embedding cannot help
    tags = capital.long()  # 1 = B-x
    lengths = torch.full((B,), T)
    tagger = BiLSTMCRFTagger(vocab_size=2, num_tags=3, char_vocab_size=22, embedding_dim=4, char_dim=8,
                             char_filters=8, hidden_size=8, dropout=0.0, allowed=allowed, allowed_start=starts)
    optimizer = torch.optim.Adam(tagger.parameters(), lr=0.05)
    first = None
    for _ in range(40):
        loss = tagger.nll(words, lengths, tags, chars).mean()
        first = first if first is not None else loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < first / 10
    predicted = torch.tensor(tagger.eval().decode(words, lengths, chars))
    assert (predicted == tags).float().mean() > 0.97

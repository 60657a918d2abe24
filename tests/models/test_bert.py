"""BERT: MLM masking statistics and purity, padding invariance, parameter count, heads that learn."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from seqlab.errors import SeqlabError
from seqlab.models.bert import (
    IGNORE,
    BertConfig,
    BertForPreTraining,
    BertForSequenceClassification,
    BertModel,
    fill_mask,
    mask_tokens,
)
from seqlab.text.factories import train_tokenizer

PAD, CLS, SEP, MASK = 0, 1, 2, 3


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models gain nothing from threads, and on a shared loaded machine two threads spin-wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_config(**kw) -> BertConfig:
    options = {"vocab_size": 30, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
               "intermediate_size": 64, "max_position_embeddings": 16, "dropout": 0.0, **kw}
    return BertConfig(**options)


def test_mask_tokens_follows_15_percent_and_80_10_10_without_touching_its_input():
    V = 1000
    ids = torch.randint(4, V, (200, 500))
    ids[:, 0], ids[:, -1] = CLS, SEP
    original = ids.clone()
    inputs, labels = mask_tokens(ids, V, MASK, special_ids=(PAD, CLS, SEP), generator=torch.Generator().manual_seed(1))
    assert torch.equal(ids, original)  # the input is untouched
    chosen = labels != IGNORE
    n_maskable = ids.numel() - 400
    # 15% chosen: the binomial standard deviation over ~1e5 positions is ~0.0011
    assert abs(chosen.sum().item() / n_maskable - 0.15) < 0.006
    assert not chosen[:, 0].any() and not chosen[:, -1].any()  # specials never chosen
    assert torch.equal(labels[chosen], ids[chosen])
    assert torch.equal(inputs[~chosen], ids[~chosen])  # nothing changes outside the chosen positions
    n = chosen.sum().item()  # ~15,000: the standard deviation of each fraction is below 0.0033
    masked = (inputs[chosen] == MASK).sum().item() / n
    kept = (inputs[chosen] == ids[chosen]).sum().item() / n
    randomised = ((inputs[chosen] != MASK) & (inputs[chosen] != ids[chosen])).sum().item() / n
    assert abs(masked - 0.8) < 0.015 and abs(kept - 0.1) < 0.012 and abs(randomised - 0.1) < 0.012


def test_mask_tokens_respects_padding_and_rejects_bad_probability():
    ids = torch.randint(4, 30, (8, 10))
    is_real = torch.arange(10)[None, :] < torch.tensor([10, 5, 3, 10, 1, 7, 2, 9])[:, None]
    _, labels = mask_tokens(ids, 30, MASK, mlm_probability=0.9, is_real=is_real)
    assert (labels[~is_real] == IGNORE).all() and (labels[is_real] != IGNORE).any()
    with pytest.raises(SeqlabError, match="mlm_probability"):
        mask_tokens(ids, 30, MASK, mlm_probability=1.5)


def test_padding_changes_nothing():
    model = BertModel(tiny_config()).double().eval()
    ids = torch.randint(4, 30, (2, 8))
    lengths = torch.tensor([8, 5])
    sequence, pooled = model(ids, lengths)
    noisy = ids.clone()
    noisy[1, 5:] = 7
    sequence2, pooled2 = model(noisy, lengths)
    torch.testing.assert_close(sequence2[1, :5], sequence[1, :5], atol=1e-12, rtol=0)
    torch.testing.assert_close(pooled2, pooled, atol=1e-12, rtol=0)
    changed = ids.clone()
    changed[1, 4] = 9  # a real token does change every position: attention is bidirectional
    assert not torch.allclose(model(changed, lengths)[0][1, 0], sequence[1, 0])


def test_parameter_count_of_the_published_base_configuration():
    with torch.device("meta"):
        model = BertModel(BertConfig())
    # 109,482,240 parameters for BERT-base with its pooler, as HuggingFace's bert-base-uncased reports
    assert sum(p.numel() for p in model.parameters()) == 109_482_240


def test_pretraining_heads_learn_one_tiny_batch():
    torch.manual_seed(0)
    model = BertForPreTraining(tiny_config())
    assert model.decoder.weight is model.bert.embeddings.word_embeddings.weight
    ids = torch.randint(4, 30, (4, 12))
    ids[:, 0] = CLS
    inputs, labels = mask_tokens(ids, 30, MASK, special_ids=(CLS,), mlm_probability=0.3,
                                 generator=torch.Generator().manual_seed(0))
    segments = (torch.arange(12) >= 6).long().expand(4, 12)
    is_next = torch.tensor([1, 0, 1, 0])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(100):
        loss = model.loss(inputs, labels, token_type_ids=segments, next_sentence_labels=is_next)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    mlm_logits, nsp_logits = model(inputs, token_type_ids=segments)
    chosen = labels != IGNORE
    assert torch.equal(mlm_logits.argmax(-1)[chosen], ids[chosen]) and torch.equal(nsp_logits.argmax(-1), is_next)
    assert loss.item() < 0.1, loss.item()


def test_classification_head_learns():
    torch.manual_seed(0)
    model = BertForSequenceClassification(tiny_config(), num_labels=3)
    ids, y = torch.randint(4, 30, (6, 9)), torch.tensor([0, 1, 2, 0, 1, 2])
    lengths = torch.tensor([9, 7, 5, 9, 4, 8])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(40):
        loss = F.cross_entropy(model(ids, lengths), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05 and torch.equal(model(ids, lengths).argmax(-1), y)


def test_logits_at_the_masked_positions_only_are_the_rows_of_the_full_logits():
    model = BertForPreTraining(tiny_config(), next_sentence=True).double().eval()
    ids = torch.randint(4, 30, (3, 10))
    lengths = torch.tensor([10, 6, 8])
    at = torch.rand(3, 10) < 0.3
    full, pair_full = model(ids, lengths)
    some, pair_some = model(ids, lengths, predict_at=at)  # (N, V)
    assert some.shape == (int(at.sum()), 30)
    torch.testing.assert_close(some, full[at], atol=1e-12, rtol=0)
    torch.testing.assert_close(pair_some, pair_full, atol=1e-12, rtol=0)


@pytest.mark.parametrize("pooling", ["cls", "mean", "max"])
def test_classifier_pooling_reads_real_positions_only(pooling):
    model = BertForSequenceClassification(tiny_config(), num_labels=2, pooling=pooling).double().eval()
    ids = torch.randint(4, 30, (2, 9))
    lengths = torch.tensor([9, 5])
    logits = model(ids, lengths)
    noisy = ids.clone()
    noisy[1, 5:] = 11
    torch.testing.assert_close(model(noisy, lengths), logits, atol=1e-12, rtol=0)  # padding changes nothing
    alone = model(ids[1:, :5], lengths[1:])
    torch.testing.assert_close(alone[0], logits[1], atol=1e-12, rtol=0)  # as if the row were alone
    sequence, pooled = model.bert(ids, lengths)
    expected = {"cls": pooled[1], "mean": sequence[1, :5].mean(0), "max": sequence[1, :5].amax(0)}[pooling]
    torch.testing.assert_close(logits[1], model.classifier(expected), atol=1e-12, rtol=0)
    with pytest.raises(SeqlabError, match="pooling"):
        BertForSequenceClassification(tiny_config(), 2, pooling="last")


def test_fill_mask_gives_the_top_tokens_at_each_mask_in_order():
    tokenizer = train_tokenizer("wordpiece", ["the cat sat on the mat", "the dog sat on the log"] * 5, vocab_size=60)
    model = BertForPreTraining(tiny_config(vocab_size=tokenizer.vocab_size), next_sentence=False)
    guesses = fill_mask(model, tokenizer, "The [MASK] sat on the [MASK].", top_k=3)
    assert len(guesses) == 2 and all(len(g) == 3 for g in guesses)
    for g in guesses:
        probabilities = [p for _, p in g]
        assert probabilities == sorted(probabilities, reverse=True) and 0 < sum(probabilities) <= 1
        assert all(tokenizer.token_to_id(token) is not None for token, _ in g)
    assert model.training  # put back in the mode it was in
    with pytest.raises(SeqlabError, match=r"at least one \[MASK\]"):
        fill_mask(model, tokenizer, "no mask here")

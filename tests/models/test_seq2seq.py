"""RNN encoder-decoder with attention, the Transformer and T5 encoder-decoders: masking, caching, learning."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from seqlab.errors import SeqlabError
from seqlab.generation import strip
from seqlab.models.seq2seq import Seq2SeqAttention
from seqlab.models.t5 import T5, T5Config
from seqlab.models.transformer import TransformerSeq2Seq

PAD, BOS, EOS = 0, 1, 2


def translate(model, src, lengths, max_len, **decoding) -> list[list[int]]:
    """The target ids of each source (without BOS and EOS), through the models' one ``generate``."""
    start = torch.full((src.shape[0], 1), BOS, dtype=torch.long)
    out = model.generate(start, max_len, source=src, source_lengths=lengths, eos_id=EOS, **decoding)
    return strip(out, 1, EOS)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models gain nothing from threads, and on a shared loaded machine two threads spin-wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def reversal_batch():
    """Four source sentences of different lengths; the target is the source reversed."""
    sentences = [[3, 4, 5, 6, 7], [8, 9, 3], [5, 5, 6, 7], [9, 8]]
    S, T = max(map(len, sentences)), max(map(len, sentences)) + 1
    src = torch.full((4, S), PAD)
    tgt_in, tgt_out = torch.full((4, T), PAD), torch.full((4, T), PAD)
    for i, s in enumerate(sentences):
        src[i, :len(s)] = torch.tensor(s)
        target = s[::-1]
        tgt_in[i, :len(s) + 1] = torch.tensor([BOS, *target])
        tgt_out[i, :len(s) + 1] = torch.tensor([*target, EOS])
    return src, torch.tensor(list(map(len, sentences))), tgt_in, tgt_out, [s[::-1] for s in sentences]


def overfit(model, steps, lr):
    src, lengths, tgt_in, tgt_out, _ = reversal_batch()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        logits = model(src, lengths, tgt_in)
        loss = F.cross_entropy(logits.flatten(0, 1), tgt_out.flatten(), ignore_index=PAD)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item()


def models():
    return {
        "gru-additive": lambda: Seq2SeqAttention(10, 10, 16, 32, cell="gru", attention="additive"),
        "lstm-general": lambda: Seq2SeqAttention(10, 10, 16, 32, num_layers=2, cell="lstm", attention="general"),
        "gru-dot": lambda: Seq2SeqAttention(10, 10, 16, 32, cell="gru", attention="dot", bidirectional=False),
        "transformer": lambda: TransformerSeq2Seq(10, 10, d_model=32, nhead=4, num_encoder_layers=2,
                                                  num_decoder_layers=2, dim_feedforward=64, dropout=0.0),
        "transformer-pre-ln": lambda: TransformerSeq2Seq(10, 10, d_model=16, nhead=2, num_encoder_layers=1,
                                                         num_decoder_layers=1, dim_feedforward=32, dropout=0.0,
                                                         norm_first=True, share_embeddings=True),
    }


@pytest.mark.parametrize("name", list(models()))
def test_source_padding_changes_nothing(name):
    model = models()[name]().double().eval()
    src, lengths, tgt_in, _, _ = reversal_batch()
    logits, weights = model(src, lengths, tgt_in, need_weights=True)
    noisy = src.clone()
    noisy[src == PAD] = 7  # garbage where the padding was
    torch.testing.assert_close(model(noisy, lengths, tgt_in), logits, atol=1e-12, rtol=0)
    cross = weights if isinstance(weights, torch.Tensor) else weights["cross"][-1]
    is_pad = (src == PAD)[:, None, :] if cross.dim() == 3 else (src == PAD)[:, None, None, :]
    assert cross.masked_select(is_pad.expand_as(cross)).eq(0).all()


def test_transformer_decoder_is_causal_and_its_cache_matches_the_full_pass():
    model = models()["transformer"]().double().eval()
    src, lengths, tgt_in, _, _ = reversal_batch()
    full = model(src, lengths, tgt_in)
    changed = tgt_in.clone()
    changed[:, 3] = 9
    torch.testing.assert_close(model(src, lengths, changed)[:, :3], full[:, :3], atol=0, rtol=0)
    state = model.decoding_state(src, lengths)
    steps = [model.decoding_step(tgt_in[:, : t + 1], state)[0] for t in range(tgt_in.shape[1])]
    torch.testing.assert_close(torch.stack(steps, 1), full, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize(("name", "steps", "lr"), [("gru-additive", 60, 1e-2), ("lstm-general", 60, 1e-2),
                                                   ("transformer", 80, 3e-3)])
def test_it_learns_to_reverse_one_tiny_batch(name, steps, lr):
    torch.manual_seed(0)
    model = models()[name]()
    loss = overfit(model, steps, lr)
    assert loss < 0.05, loss
    src, lengths, _, _, expected = reversal_batch()
    assert translate(model, src, lengths, max_len=8) == expected
    assert translate(model, src, lengths, max_len=8, beam_size=3) == expected


def test_bad_arguments_raise():
    with pytest.raises(SeqlabError, match="dot"):
        Seq2SeqAttention(10, 10, attention="dot", bidirectional=True)
    with pytest.raises(SeqlabError, match="cell"):
        Seq2SeqAttention(10, 10, cell="rnn2")
    with pytest.raises(SeqlabError, match="share_embeddings"):
        TransformerSeq2Seq(10, 12, share_embeddings=True)


def tiny_t5(**kw) -> T5:
    config = T5Config(vocab_size=10, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2, num_heads=4,
                      relative_attention_num_buckets=8, relative_attention_max_distance=16, dropout=0.0, **kw)
    return T5(config)


def test_t5_padding_changes_nothing_and_the_decoder_is_causal():
    model = tiny_t5().double().eval()
    src, lengths, tgt_in, _, _ = reversal_batch()
    logits = model(src, lengths, tgt_in)
    noisy = src.clone()
    noisy[src == PAD] = 7
    torch.testing.assert_close(model(noisy, lengths, tgt_in), logits, atol=1e-12, rtol=0)
    changed = tgt_in.clone()
    changed[:, 3] = 9
    torch.testing.assert_close(model(src, lengths, changed)[:, :3], logits[:, :3], atol=0, rtol=0)


def test_t5_gradcheck_through_the_relative_position_bias():
    model = tiny_t5().double().eval()
    src, lengths, tgt_in, _, _ = reversal_batch()
    names = tuple(f"{stack}.relative_bias.relative_attention_bias.weight" for stack in ("encoder", "decoder"))
    tables = tuple(dict(model.named_parameters())[name].detach().clone().requires_grad_(True) for name in names)

    def logits(encoder_table, decoder_table):
        weights = dict(zip(names, (encoder_table, decoder_table)))
        return torch.func.functional_call(model, weights, (src[:2, :4], lengths[:2].clamp(max=4), tgt_in[:2, :3]))

    assert torch.autograd.gradcheck(logits, tables)


def test_t5_learns_to_reverse_one_tiny_batch():
    torch.manual_seed(0)
    model = tiny_t5()
    assert overfit(model, 80, 3e-3) < 0.05
    src, lengths, _, _, expected = reversal_batch()
    assert translate(model, src, lengths, max_len=8) == expected
    assert translate(model, src, lengths, max_len=8, beam_size=3) == expected


@pytest.mark.parametrize("name", ["gru-additive", "transformer"])
def test_sampled_translation_is_seeded_and_beam_with_temperature_is_refused(name):
    model = models()[name]()
    src, lengths, _, _, _ = reversal_batch()

    def sample(seed):
        return translate(model, src, lengths, max_len=6, temperature=1.0,
                               generator=torch.Generator().manual_seed(seed))

    assert sample(1) == sample(1)
    assert any(sample(1) != sample(seed) for seed in (2, 3, 4))  # an untrained model spreads its probability
    with pytest.raises(SeqlabError, match="deterministic"):
        translate(model, src, lengths, max_len=6, beam_size=2, temperature=1.0)

"""seqlab's models saved as Hugging Face folders load in transformers and compute the same outputs.

The reverse of test_hf_load: seqlab saves, transformers' ``from_pretrained`` loads; a loaded checkpoint
saved again holds exactly the tensors transformers saved; shards, tokenizer and config fields too.
"""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from seqlab.errors import SeqlabError
from seqlab.models import (
    GPT,
    T5,
    BertConfig,
    BertForPreTraining,
    BertForSequenceClassification,
    BertModel,
    GPTConfig,
    T5Config,
    T5Encoder,
)
from seqlab.models.huggingface import load_pretrained, save_pretrained
from seqlab.text import Tokenizer

TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-5}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def close(ours: torch.Tensor, theirs: torch.Tensor, dtype: torch.dtype) -> None:
    assert theirs.dtype == dtype and ours.shape == theirs.shape
    error = (ours - theirs).abs().max().item()
    assert error <= TOLERANCE[dtype] * max(1.0, theirs.abs().max().item()), error


IDS = torch.randint(5, 40, (3, 9), generator=torch.Generator().manual_seed(0))
BERT = BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                  max_position_embeddings=32)
# variance_in_float32: transformers' T5LayerNorm takes the mean square in float32 even for float64 inputs
T5_CONFIG = T5Config(vocab_size=40, d_model=16, d_kv=4, d_ff=32, num_layers=2, num_decoder_layers=1, num_heads=2,
                     variance_in_float32=True)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_gpt_loads_in_transformers(transformers, tmp_path, dtype):
    torch.manual_seed(0)
    for tie in (True, False):
        model = GPT(GPTConfig(vocab_size=40, block_size=16, n_layer=2, n_head=2, n_embd=16, tie_weights=tie,
                              n_inner=24)).to(dtype).eval()
        save_pretrained(model, tmp_path / str(tie), config_extras={"eos_token_id": 1})
        theirs = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / str(tie), dtype=dtype).eval()
        assert type(theirs).__name__ == "GPT2LMHeadModel" and theirs.config.eos_token_id == 1
        assert (theirs.lm_head.weight is theirs.transformer.wte.weight) == tie
        with torch.no_grad():
            close(model(IDS), theirs(IDS).logits, dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_bert_models_load_in_transformers(transformers, tmp_path, dtype):
    torch.manual_seed(0)
    lengths = torch.tensor([9, 6, 2])
    mask = (torch.arange(9)[None, :] < lengths[:, None]).long()
    def both(a, b):
        return torch.cat((a.flatten(), b.flatten()))

    cases = [(BertModel(BERT), "BertModel", lambda out: both(out.last_hidden_state, out.pooler_output),
              lambda out: both(*out)),
             (BertForPreTraining(BERT), "BertForPreTraining",
              lambda out: both(out.prediction_logits, out.seq_relationship_logits), lambda out: both(*out)),
             (BertForPreTraining(BERT, next_sentence=False, add_pooling_layer=False), "BertForMaskedLM",
              lambda out: out.logits, lambda out: out[0]),
             (BertForSequenceClassification(BERT, 3), "BertForSequenceClassification", lambda out: out.logits,
              lambda out: out)]
    for model, architecture, theirs_of, ours_of in cases:
        model = model.to(dtype).eval()
        save_pretrained(model, tmp_path / architecture, config_extras={"pad_token_id": 0})
        theirs = getattr(transformers, architecture).from_pretrained(tmp_path / architecture, dtype=dtype).eval()
        assert json.loads((tmp_path / architecture / "config.json").read_text())["architectures"] == [architecture]
        with torch.no_grad():
            close(ours_of(model(IDS, lengths)), theirs_of(theirs(IDS, attention_mask=mask)), dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_t5_and_its_encoder_load_in_transformers(transformers, tmp_path, dtype):
    torch.manual_seed(0)
    target = torch.randint(0, 40, (3, 4), generator=torch.Generator().manual_seed(1))
    flan_like = T5Config(**{**T5_CONFIG.to_dict(), "feed_forward_proj": "gated-gelu", "tie_word_embeddings": False,
                            "scale_decoder_outputs": False})
    for name, config in (("t5", T5_CONFIG), ("flan", flan_like)):
        model = T5(config).to(dtype).eval()
        save_pretrained(model, tmp_path / name)
        theirs = transformers.AutoModelForSeq2SeqLM.from_pretrained(tmp_path / name, dtype=dtype).eval()
        assert (theirs.lm_head.weight is theirs.shared.weight) == config.tie_word_embeddings
        with torch.no_grad():
            close(model(IDS, None, target), theirs(input_ids=IDS, decoder_input_ids=target).logits, dtype)
    encoder = T5Encoder(T5_CONFIG).to(dtype).eval()
    save_pretrained(encoder, tmp_path / "encoder")
    theirs = transformers.T5EncoderModel.from_pretrained(tmp_path / "encoder", dtype=dtype).eval()
    with torch.no_grad():
        close(encoder(IDS), theirs(input_ids=IDS).last_hidden_state, dtype)


@pytest.mark.parametrize("name", ["gpt2", "bert-pretraining", "bert-classifier", "t5-gated"])
def test_a_loaded_checkpoint_saves_back_exactly_what_transformers_saved(hf_folder, tmp_path, name):
    pretrained = load_pretrained(hf_folder(name))
    pretrained.save(tmp_path)
    ours, theirs = load_file(tmp_path / "model.safetensors"), load_file(hf_folder(name) / "model.safetensors")
    assert sorted(ours) == sorted(theirs)  # tied weights stored once, under transformers' names
    assert all(torch.equal(ours[k], theirs[k]) for k in theirs)
    config, original = (json.loads((folder / "config.json").read_text()) for folder in (tmp_path, hf_folder(name)))
    for field in ("architectures", "model_type", "eos_token_id", "pad_token_id", "id2label", "vocab_size"):
        assert config.get(field) == original.get(field), field
    assert Tokenizer.from_file(tmp_path / "tokenizer.json").get_vocab() == pretrained.tokenizer.get_vocab()


def test_sharded_save_loads_both_ways_and_replaces_earlier_weights(transformers, tmp_path):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=40, block_size=16, n_layer=3, n_head=2, n_embd=16)).double().eval()
    save_pretrained(model, tmp_path)
    written = save_pretrained(model, tmp_path, max_shard_size="8KB")
    shards = sorted(p.name for p in tmp_path.glob("model-*.safetensors"))
    assert len(shards) > 2 and not (tmp_path / "model.safetensors").exists()  # the unsharded file is gone
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    assert sorted(set(index["weight_map"].values())) == shards and tmp_path / "config.json" in written
    theirs = transformers.GPT2LMHeadModel.from_pretrained(tmp_path, dtype=torch.float64).eval()
    with torch.no_grad():
        close(load_pretrained(tmp_path, dtype=torch.float64).model(IDS), theirs(IDS).logits, torch.float64)
        close(model(IDS), theirs(IDS).logits, torch.float64)


def test_tokenizer_is_read_by_autotokenizer(transformers, hf_folder, tmp_path):
    pretrained = load_pretrained(hf_folder("bert"))
    pretrained.save(tmp_path)
    theirs = transformers.AutoTokenizer.from_pretrained(tmp_path)
    text = "the cat sat on the big red mat ."
    assert theirs(text)["input_ids"] == pretrained.tokenizer.encode(text).ids == [3, 6, 7, 8, 9, 6, 24, 26, 10, 22, 4]


def test_what_cannot_be_saved_is_refused(tmp_path):
    rope = GPT(GPTConfig(vocab_size=40, block_size=16, n_layer=1, n_head=2, n_embd=16, positions="rope"))
    with pytest.raises(SeqlabError, match=r"positions='rope'.*no GPT-2 equivalent"):
        save_pretrained(rope, tmp_path)
    with pytest.raises(SeqlabError, match=r"expected one of GPT, BertModel.*got Linear"):
        save_pretrained(torch.nn.Linear(2, 2), tmp_path)
    with pytest.raises(SeqlabError, match=r"config_extras contradict the model: n_embd=32 \(the model has 16\)"):
        save_pretrained(GPT(GPTConfig(vocab_size=40, block_size=16, n_layer=1, n_head=2, n_embd=16)), tmp_path,
                        config_extras={"n_embd": 32})
    with pytest.raises(SeqlabError, match="id2label has 2 labels, the classifier 3"):
        save_pretrained(BertForSequenceClassification(BERT, 3), tmp_path, config_extras={"id2label": {0: "a", 1: "b"}})
    assert not any(tmp_path.iterdir())  # refused before writing anything

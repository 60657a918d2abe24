"""Every way a Hugging Face folder can fail to fit seqlab gives a one-line SeqlabError naming what is wrong."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from seqlab.errors import SeqlabError
from seqlab.models.huggingface import load_for_sequence_classification, load_pretrained


class NotATensor:
    """Pickled into a pytorch_model.bin, it is what weights_only refuses."""


def copy(hf_folder, tmp_path, name, config=None, tensors=None):
    """A copy of a recipe's folder with ``config`` fields changed and ``tensors`` transformed."""
    folder = tmp_path / name
    shutil.copytree(hf_folder(name), folder)
    if config:
        data = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps({**data, **config}))
    if tensors:
        save_file(tensors(load_file(folder / "model.safetensors")), folder / "model.safetensors", {"format": "pt"})
    return folder


def fails(folder, *fragments, **options) -> str:
    with pytest.raises(SeqlabError) as caught:
        load_pretrained(folder, **options)
    message = str(caught.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_folder_and_config_errors(hf_folder, tmp_path):
    fails(tmp_path / "absent", "absent: expected a Hugging Face model folder", "got nothing")
    (tmp_path / "empty").mkdir()
    fails(tmp_path / "empty", "empty: no config.json")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.json").write_text("{")
    fails(tmp_path / "bad", "config.json: not valid JSON")
    fails(copy(hf_folder, tmp_path, "gpt2", config={"model_type": "llama"}),
          "model_type 'llama' is not supported", "gpt2 (GPT2LMHeadModel, GPT2Model)", "t5 (")
    fails(copy(hf_folder, tmp_path, "bert", config={"architectures": ["BertForTokenClassification"]}),
          "architecture 'BertForTokenClassification' is not supported for bert")
    fails(hf_folder("bert"), "architecture: expected one of BertModel", "got 'GPT2Model'", architecture="GPT2Model")
    fails(hf_folder("gpt2"), "dtype: expected a floating-point torch dtype", dtype=torch.int64)


@pytest.mark.parametrize(("name", "config", "fragments"), [
    ("bert", {"position_embedding_type": "relative_key"},
     ["config fields seqlab cannot honour: position_embedding_type='relative_key' (seqlab supports 'absolute')"]),
    ("gpt2", {"scale_attn_by_inverse_layer_idx": True}, ["scale_attn_by_inverse_layer_idx=True"]),
    ("gpt2", {"activation_function": "gelu_fast"}, ["activation_function: expected one of", "got 'gelu_fast'"]),
    ("gpt2", {"n_embd": "16"}, ["n_embd: expected an integer, got '16'"]),
    ("bert", {"hidden_dropout_prob": None}, ["hidden_dropout_prob: expected a number, got None"]),
    ("t5", {"feed_forward_proj": "gated-swoosh"}, ["T5Config.feed_forward_proj", "got 'gated-swoosh'"]),
])
def test_config_fields_seqlab_cannot_honour(hf_folder, tmp_path, name, config, fragments):
    fails(copy(hf_folder, tmp_path, name, config=config), *fragments)


def test_tensor_errors_name_the_tensors(hf_folder, tmp_path):
    def without(name):
        return lambda t: {k: v for k, v in t.items() if k != name}

    fails(copy(hf_folder, tmp_path / "a", "gpt2", tensors=without("transformer.h.1.mlp.c_fc.bias")),
          "the checkpoint lacks 1 tensor(s) the model needs: transformer.h.1.mlp.c_fc.bias")
    fails(copy(hf_folder, tmp_path / "b", "t5", tensors=lambda t: {**t, "encoder.block.0.layer.0.extra": -t[
        "shared.weight"]}), "1 tensor(s) this architecture does not use: encoder.block.0.layer.0.extra")
    fails(copy(hf_folder, tmp_path / "c", "gpt2", config={"n_positions": 64}),
          "tensors of the wrong shape for the config: transformer.wpe.weight (32, 16) (expected (64, 16))")
    key = "encoder.layer.0.attention.self.key.weight"
    fails(copy(hf_folder, tmp_path / "d", "bert", tensors=lambda t: {**t, key: t[key].to(torch.int8)}),
          f"expected floating-point tensors, got {key} (torch.int8)")
    # a tied copy that is not a copy is a head of its own: BERT's MLM decoder is then untied, not dropped
    mlm = load_pretrained(copy(hf_folder, tmp_path / "e", "bert-mlm", tensors=lambda t: {
        **t, "cls.predictions.decoder.weight": torch.randn(40, 16)}))
    assert mlm.model.decoder.weight is not mlm.model.bert.embeddings.word_embeddings.weight


def test_weight_file_errors(hf_folder, tmp_path):
    folder = copy(hf_folder, tmp_path, "gpt2")
    (folder / "model.safetensors").unlink()
    fails(folder, "gpt2: no weights; expected model.safetensors, model.safetensors.index.json or pytorch_model.bin")
    torch.save({"wte.weight": torch.zeros(2), "trap": NotATensor()}, folder / "pytorch_model.bin")
    fails(folder, "pytorch_model.bin: torch.load(weights_only=True) refused it", "convert it to model.safetensors")
    torch.save([torch.zeros(2)], folder / "pytorch_model.bin")
    fails(folder, "pytorch_model.bin: expected a flat dict of named tensors, got a list")
    (folder / "pytorch_model.bin").unlink()
    (folder / "model.safetensors").write_bytes(b"not safetensors at all")
    fails(folder, "model.safetensors: not a readable safetensors file")
    (folder / "model.safetensors").unlink()
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"x": "model-00001-of-00002.safe"
                                                                                          "tensors"}}))
    fails(folder, "names the shard 'model-00001-of-00002.safetensors', which is not in the folder")


def test_classification_loading_errors(hf_folder):
    with pytest.raises(SeqlabError, match="the classifier has 3 labels, asked for 2"):
        load_for_sequence_classification(hf_folder("bert-classifier"), num_labels=2)
    with pytest.raises(SeqlabError, match="a BertForMaskedLM checkpoint has no classifier; give num_labels"):
        load_for_sequence_classification(hf_folder("bert-mlm"))
    with pytest.raises(SeqlabError, match="sequence classification loads BERT checkpoints, got model_type 'gpt2'"):
        load_for_sequence_classification(hf_folder("gpt2"), num_labels=2)
    with pytest.raises(SeqlabError, match="num_labels: expected a positive integer, got 0"):
        load_for_sequence_classification(hf_folder("bert"), num_labels=0)

"""Hugging Face checkpoints saved by transformers load into seqlab's models and compute the same outputs.

Every architecture, in float64 (to 1e-10) and float32 (to 1e-5), from model.safetensors, from shards,
from a weights_only pytorch_model.bin, and from the layouts older checkpoints use (no base-model prefix,
saved buffers, tied copies, TensorFlow's gamma/beta names).
"""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from seqlab.models import GPT, T5, BertForPreTraining, BertForSequenceClassification, BertModel, T5Encoder
from seqlab.models.huggingface import load_for_sequence_classification, load_pretrained

TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-5}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models gain nothing from threads, and on a shared loaded machine two threads spin-wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def batch():
    """Token ids (3, 11) with lengths 11, 7, 4 (padding filled with ids that must not matter) and segments."""
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 40, (3, 11), generator=generator)
    lengths = torch.tensor([11, 7, 4])
    is_real = torch.arange(11)[None, :] < lengths[:, None]
    segments = (torch.arange(11)[None, :] >= 5).long().expand(3, -1)
    return ids, lengths, is_real.long(), segments


def close(ours: torch.Tensor, theirs: torch.Tensor, dtype: torch.dtype) -> None:
    assert ours.dtype == dtype and ours.shape == theirs.shape
    error = (ours - theirs).abs().max().item()
    assert error <= TOLERANCE[dtype] * max(1.0, theirs.abs().max().item()), error


def reference(hf_reference, name, dtype):
    """The transformers model of the recipe in ``dtype`` (a copy: the session's model stays float32)."""
    import copy

    return copy.deepcopy(hf_reference(name)).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_gpt2_lm_head_and_bare_model(hf_folder, hf_reference, dtype):
    ids, _, _, _ = batch()
    pretrained = load_pretrained(hf_folder("gpt2"), dtype=dtype)
    assert isinstance(pretrained.model, GPT) and pretrained.architecture == "GPT2LMHeadModel"
    assert pretrained.model.lm_head.weight is pretrained.model.wte.weight  # tied, as transformers ties it
    # built on the meta device and given the checkpoint's tensors: real, trainable, contiguous parameters
    assert all(p.requires_grad and p.is_contiguous() and p.device.type == "cpu" and p.dtype == dtype
               for p in pretrained.model.parameters())
    assert not pretrained.model.training and pretrained.tokenizer.vocab_size == 40
    with torch.no_grad():
        close(pretrained.model(ids), reference(hf_reference, "gpt2", dtype)(ids).logits, dtype)
        bare = load_pretrained(hf_folder("gpt2-bare"), dtype=dtype)
        assert bare.architecture == "GPT2Model"
        close(bare.model.hidden_states(ids), reference(hf_reference, "gpt2-bare", dtype)(ids).last_hidden_state, dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_bert_every_head_on_a_padded_batch(hf_folder, hf_reference, dtype):
    ids, lengths, mask, segments = batch()
    with torch.no_grad():
        base = load_pretrained(hf_folder("bert"), dtype=dtype)
        theirs = reference(hf_reference, "bert", dtype)(ids, attention_mask=mask, token_type_ids=segments)
        sequence, pooled = base.model(ids, lengths, segments)
        assert type(base.model) is BertModel
        close(sequence, theirs.last_hidden_state, dtype)
        close(pooled, theirs.pooler_output, dtype)

        mlm = load_pretrained(hf_folder("bert-mlm"), dtype=dtype)
        assert isinstance(mlm.model, BertForPreTraining) and mlm.model.nsp is None and mlm.model.bert.pooler is None
        theirs = reference(hf_reference, "bert-mlm", dtype)(ids, attention_mask=mask, token_type_ids=segments)
        close(mlm.model(ids, lengths, segments)[0], theirs.logits, dtype)

        full = load_pretrained(hf_folder("bert-pretraining"), dtype=dtype)
        theirs = reference(hf_reference, "bert-pretraining", dtype)(ids, attention_mask=mask, token_type_ids=segments)
        mlm_logits, nsp_logits = full.model(ids, lengths, segments)
        close(mlm_logits, theirs.prediction_logits, dtype)
        close(nsp_logits, theirs.seq_relationship_logits, dtype)

        classifier = load_pretrained(hf_folder("bert-classifier"), dtype=dtype)
        assert isinstance(classifier.model, BertForSequenceClassification) and classifier.labels == [
            "LABEL_0", "LABEL_1", "LABEL_2"]
        theirs = reference(hf_reference, "bert-classifier", dtype)(ids, attention_mask=mask, token_type_ids=segments)
        close(classifier.model(ids, lengths, segments), theirs.logits, dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("name", ["t5", "t5-gated"])
def test_t5_conditional_generation_and_encoder(hf_folder, hf_reference, name, dtype):
    ids, lengths, mask, _ = batch()
    target = torch.randint(0, 40, (3, 6), generator=torch.Generator().manual_seed(1))
    pretrained = load_pretrained(hf_folder(name), dtype=dtype)
    assert isinstance(pretrained.model, T5)
    gated = name == "t5-gated"  # T5 1.1: gated GELU, an output layer of its own and no output scaling
    assert (pretrained.config.is_gated, pretrained.model.lm_head is not None) == (gated, gated)
    assert pretrained.config.scale_decoder_outputs is not gated
    theirs = reference(hf_reference, name, dtype)
    with torch.no_grad():
        close(pretrained.model(ids, lengths, target),
              theirs(input_ids=ids, attention_mask=mask, decoder_input_ids=target).logits, dtype)
        encoder = load_pretrained(hf_folder("t5-encoder"), dtype=dtype)
        assert isinstance(encoder.model, T5Encoder) and encoder.architecture == "T5EncoderModel"
        close(encoder.model(ids, lengths),
              reference(hf_reference, "t5-encoder", dtype)(input_ids=ids, attention_mask=mask).last_hidden_state,
              dtype)
        # the encoder half of a T5ForConditionalGeneration checkpoint, its decoder left out
        half = load_pretrained(hf_folder(name), dtype=dtype, architecture="T5EncoderModel")
        close(half.model(ids, lengths), theirs.encoder(input_ids=ids, attention_mask=mask).last_hidden_state, dtype)


def test_sharded_safetensors_and_weights_only_pickle(hf_reference, tmp_path):
    ids, lengths, mask, segments = batch()
    model = hf_reference("bert-pretraining")
    model.save_pretrained(tmp_path / "sharded", max_shard_size="20KB")
    assert len(list((tmp_path / "sharded").glob("model-*-of-*.safetensors"))) > 1
    assert not (tmp_path / "sharded" / "model.safetensors").exists()
    # pytorch_model.bin as older transformers wrote it: every tensor, tied copies included
    (tmp_path / "pickle").mkdir()
    (tmp_path / "pickle" / "config.json").write_bytes((tmp_path / "sharded" / "config.json").read_bytes())
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["cls.predictions.decoder.weight"] = state["bert.embeddings.word_embeddings.weight"].clone()
    torch.save(state, tmp_path / "pickle" / "pytorch_model.bin")
    theirs = model.double()(ids, attention_mask=mask, token_type_ids=segments).prediction_logits
    model.float()
    for folder in ("sharded", "pickle"):
        loaded = load_pretrained(tmp_path / folder, dtype=torch.float64)
        with torch.no_grad():
            close(loaded.model(ids, lengths, segments)[0], theirs.detach(), torch.float64)


def test_legacy_layouts_no_prefix_buffers_and_gamma_beta(hf_folder, hf_reference, tmp_path):
    """The released gpt2 weights have no ``transformer.`` prefix and carry the causal-mask buffers; the
    released bert-base-uncased (a BertForMaskedLM) keeps TensorFlow's gamma/beta, the pooler and NSP head."""
    ids, _, _, _ = batch()
    tensors = load_file(hf_folder("gpt2") / "model.safetensors")
    legacy = {name.removeprefix("transformer."): t for name, t in tensors.items()}
    for i in range(2):
        legacy[f"h.{i}.attn.bias"] = torch.tril(torch.ones(32, 32)).view(1, 1, 32, 32)
        legacy[f"h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    (tmp_path / "gpt2").mkdir()
    (tmp_path / "gpt2" / "config.json").write_bytes((hf_folder("gpt2") / "config.json").read_bytes())
    torch.save(legacy, tmp_path / "gpt2" / "pytorch_model.bin")
    with torch.no_grad():
        close(load_pretrained(tmp_path / "gpt2", dtype=torch.float64).model(ids),
              reference(hf_reference, "gpt2", torch.float64)(ids).logits, torch.float64)

    state = dict(hf_reference("bert-pretraining").state_dict())
    state = {name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): t
             for name, t in state.items()}
    state["bert.embeddings.position_ids"] = torch.arange(32)[None]
    state["cls.predictions.decoder.bias"] = state["cls.predictions.bias"]
    (tmp_path / "bert").mkdir()
    config = (hf_folder("bert-mlm") / "config.json").read_text()
    (tmp_path / "bert" / "config.json").write_text(config)
    torch.save(state, tmp_path / "bert" / "pytorch_model.bin")
    mlm = load_pretrained(tmp_path / "bert", dtype=torch.float64)
    assert mlm.architecture == "BertForMaskedLM" and mlm.model.nsp is not None  # nothing of the file is dropped
    theirs = reference(hf_reference, "bert-pretraining", torch.float64)(ids).prediction_logits
    with torch.no_grad():
        close(mlm.model(ids)[0], theirs, torch.float64)


def test_classification_head_starts_fresh_on_a_pretraining_checkpoint(hf_folder, hf_reference, tmp_path):
    import json
    import shutil

    ids, lengths, mask, segments = batch()
    torch.manual_seed(5)
    # transformers 4 wrote two default labels into every config; they name no classifier of a masked LM
    shutil.copytree(hf_folder("bert-mlm"), tmp_path / "mlm")
    config = json.loads((tmp_path / "mlm" / "config.json").read_text())
    config["id2label"] = {"0": "LABEL_0", "1": "LABEL_1"}
    (tmp_path / "mlm" / "config.json").write_text(json.dumps(config))
    fine_tune = load_for_sequence_classification(tmp_path / "mlm", num_labels=4, dtype=torch.float64)
    model = fine_tune.model
    assert isinstance(model, BertForSequenceClassification) and model.classifier.out_features == 4
    assert fine_tune.architecture == "BertForSequenceClassification"
    # the encoder is the checkpoint's; the pooler (a masked LM has none) and classifier are BERT-initialised
    theirs = reference(hf_reference, "bert-mlm", torch.float64).bert(ids, attention_mask=mask,
                                                                     token_type_ids=segments).last_hidden_state
    with torch.no_grad():
        close(model.bert(ids, lengths, segments)[0], theirs, torch.float64)
    for linear in (model.classifier, model.bert.pooler):
        assert abs(linear.weight.std().item() - 0.02) < 0.01 and not linear.bias.any()
    # from a classifier checkpoint the head is loaded, and the label count must agree
    same = load_for_sequence_classification(hf_folder("bert-classifier"), dtype=torch.float64)
    with torch.no_grad():
        close(same.model(ids, lengths, segments),
              reference(hf_reference, "bert-classifier", torch.float64)(ids, attention_mask=mask,
                                                                        token_type_ids=segments).logits,
              torch.float64)
    fine_tune.model.train()
    loss = torch.nn.functional.cross_entropy(fine_tune.model(ids, lengths, segments), torch.tensor([0, 3, 1]))
    loss.backward()  # trainable end to end
    assert model.bert.embeddings.word_embeddings.weight.grad.abs().sum() > 0
    assert fine_tune.labels == ["LABEL_0", "LABEL_1", "LABEL_2", "LABEL_3"]
    fine_tune.save(tmp_path / "fine-tuned")
    again = load_pretrained(tmp_path / "fine-tuned", dtype=torch.float64)
    assert again.architecture == "BertForSequenceClassification" and again.labels == fine_tune.labels
    with torch.no_grad():
        close(again.model(ids, lengths, segments), fine_tune.model.eval()(ids, lengths, segments), torch.float64)


def test_config_variants_seqlab_honours(transformers, hf_folder, tmp_path):
    """Activations, MLP width, separate dropouts and untied heads, read from config.json as transformers reads them."""
    import json
    import shutil

    ids, lengths, mask, segments = batch()
    cases = {"gpt2": {"activation_function": "relu", "attn_pdrop": 0.2, "embd_pdrop": 0.0},
             "bert-mlm": {"hidden_act": "gelu_new", "attention_probs_dropout_prob": 0.3, "classifier_dropout": 0.4}}
    for name, fields in cases.items():
        folder = tmp_path / name
        shutil.copytree(hf_folder(name), folder)
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps({**config, **fields}))
        pretrained = load_pretrained(folder, dtype=torch.float64)
        theirs = getattr(transformers, pretrained.architecture).from_pretrained(folder, dtype=torch.float64).eval()
        with torch.no_grad():
            if name == "gpt2":
                assert pretrained.model.blocks[1].self_attn.dropout == 0.2 and pretrained.model.drop.p == 0.0
                assert pretrained.model.blocks[1].linear2.in_features == 64  # n_inner None: 4E
                close(pretrained.model(ids), theirs(ids).logits, torch.float64)
            else:
                bert = pretrained.model.bert
                assert bert.encoder.layers[0].self_attn.dropout == 0.3 and bert.encoder.layers[0].dropout1.p == 0.1
                assert pretrained.config.classifier_dropout == 0.4
                close(pretrained.model(ids, lengths, segments)[0],
                      theirs(ids, attention_mask=mask, token_type_ids=segments).logits, torch.float64)

"""Pre-train, then fine-tune, through the runner: the mlm recipe learns, reloads and resumes; its encoder and
tokenizer start a sentiment BERT (tensor equality at step 0); an lm run continues on another text."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace

import pytest
import torch

import tokenizers
from seqlab.data.corpora import load_tiny_shakespeare
from seqlab.errors import SeqlabError
from seqlab.models.bert import BertForPreTraining
from seqlab.training.run_config import load_run_config
from seqlab.training.runner import evaluate_run, load_run, train
from seqlab.training.tasks import recipe

TINY_BERT = ["data.block_size=32", "data.batch_size=16", "model.num_layers=1", "model.num_heads=2",
             "model.dropout=0.0", "fit.warmup_steps=10", "fit.lr=0.003", "fit.plots=false"]


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Two documents of Tiny Shakespeare, each a passage read twelve times: a text small enough to learn in seconds."""
    folder = tmp_path_factory.mktemp("corpus")
    text = load_tiny_shakespeare()
    (folder / "a.txt").write_text((text[:1500] + "\n\n") * 12, encoding="utf-8")
    (folder / "b.txt").write_text((text[5000:6500] + "\n\n") * 12, encoding="utf-8")
    return folder


def mlm(corpus, *overrides):
    return load_run_config("mlm", None, [f"data.path={corpus}", "data.vocab_size=300", *TINY_BERT, *overrides])


@pytest.fixture(scope="module")
def mlm_run(corpus, tmp_path_factory):
    """A small BERT pre-trained by masked-language modelling alone (the fine-tuning tests start from it)."""
    run_dir = tmp_path_factory.mktemp("runs") / "mlm"
    config = mlm(corpus, "model.hidden_size=128", "model.intermediate_size=256",
                 "fit.max_steps=100", "fit.eval_every=50")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = train(config, run_dir)
    finally:
        torch.set_num_threads(threads)
    return run_dir, result


def test_the_masked_lm_loss_falls_below_the_unigram_entropy_of_its_corpus(mlm_run):
    run_dir, result = mlm_run
    data = recipe("mlm").build_data(load_run(run_dir).config, load_run(run_dir).tokenizers)
    counts = Counter(i for stream in data.train.loader.dataset.streams for i in stream.tolist())
    total = sum(counts.values())
    entropy = -sum(c / total * math.log(c / total) for c in counts.values())  # nats per token, no context
    first, best = result.history.evaluations[0]["val_mlm_loss"], result.best_metrics["mlm_loss"]
    assert best < entropy - 0.5 < first + 0.5, (first, best, entropy)  # the context is read
    most_frequent = max(counts.values()) / total  # the accuracy of always guessing the commonest token
    assert result.best_metrics["mlm_accuracy"] > most_frequent + 0.03, (result.best_metrics, most_frequent)
    assert result.best_metrics["loss"] == best


def test_an_mlm_run_reloads_evaluates_alike_and_shows_its_guesses(mlm_run):
    run_dir, result = mlm_run
    run = load_run(run_dir)
    assert isinstance(run.model, BertForPreTraining) and run.model.nsp is None
    assert run.state == {"vocab_size": 300, "block_size": 32, "pair_task": "none"}
    # the held-out masks are the same at every evaluation, so the final evaluation repeats the best one
    assert evaluate_run(run_dir)["mlm_loss"] == pytest.approx(result.best_metrics["mlm_loss"], rel=1e-6)
    sample = (run_dir / "sample.txt").read_text(encoding="utf-8")
    assert "[MASK] 1:" in sample and sample == result.sample


def test_the_mlm_tokenizer_is_a_hugging_face_file_with_the_same_ids(mlm_run):
    run_dir, _ = mlm_run
    ours = load_run(run_dir).tokenizer
    theirs = tokenizers.Tokenizer.from_file(str(run_dir / "tokenizer.json"))
    for text in ("First Citizen: Before we proceed any further, hear me speak.", "Qu'ils mangent de la brioche!"):
        assert theirs.encode(text).ids == ours.encode(text).ids
        assert theirs.encode(text).ids[0] == theirs.token_to_id("[CLS]")
        assert theirs.encode(text, "and a pair").type_ids == ours.encode(text, "and a pair").type_ids


def test_a_resumed_mlm_run_draws_the_same_pairs_and_masks_as_one_longer_run(corpus, tmp_path):
    small = ["model.hidden_size=16", "model.intermediate_size=32", "fit.eval_every=6", "fit.schedule=constant",
             "data.pair_task=nsp"]
    whole = train(mlm(corpus, *small, "fit.max_steps=12"), tmp_path / "whole")
    part = mlm(corpus, *small, "fit.max_steps=6")  # stops in the middle of the first epoch
    assert len(recipe("mlm").build_data(part).train) > 12
    train(part, tmp_path / "part")
    resumed = train(replace(part, fit=replace(part.fit, max_steps=12)), tmp_path / "part", resume=True)
    assert resumed.history.losses == whole.history.losses  # bit for bit
    metrics = whole.best_metrics
    assert 0.0 <= metrics["pair_accuracy"] <= 1.0 and metrics["loss"] == pytest.approx(metrics["mlm_loss"] +
                                                                                         metrics["pair_loss"])


def sentiment(review_file, *overrides):
    return load_run_config("sentiment", None, [
        f"data.path={review_file}", "data.val_fraction=0.25", "data.batch_size=8", "data.max_length=24",
        "model.dropout=0.0", "fit.epochs=10", "fit.lr=0.003", "fit.max_seconds=null", "fit.plots=false", *overrides])


def test_a_fine_tuned_bert_starts_from_the_pretrained_encoder_and_learns(mlm_run, review_file, tmp_path):
    run_dir, _ = mlm_run
    config = sentiment(review_file, f"model.pretrained={run_dir}", "model.pooling=cls")
    assert (config.model.arch, config.model.embedding_dim, config.model.hidden_size, config.model.num_layers,
            config.model.nhead, config.model.max_positions) == ("bert", 128, 256, 1, 2, 32)  # the MLM's sizes
    chosen = recipe("sentiment")
    data = chosen.build_data(config)
    assert data.tokenizers["tokenizer.json"].get_vocab() == load_run(run_dir).tokenizer.get_vocab()
    torch.manual_seed(config.fit.seed)
    model = chosen.build_model(config, data.state)
    chosen.initialize(model, config, data)
    pretrained = load_run(run_dir).model.bert.state_dict()
    assert model.bert.state_dict().keys() == pretrained.keys()
    assert all(torch.equal(tensor, pretrained[name]) for name, tensor in model.bert.state_dict().items())  # step 0
    result = train(config, tmp_path / "fine-tuned")
    assert result.best_metrics["accuracy"] == 1.0
    run = load_run(tmp_path / "fine-tuned")
    assert [label for label, _ in run.recipe.classify(run, ["A gorgeous, moving film", "a boring mess"])] == \
        ["pos", "neg"]


def test_a_frozen_encoder_stays_the_pretrained_one_while_its_head_learns(mlm_run, review_file, tmp_path):
    run_dir, _ = mlm_run
    config = sentiment(review_file, f"model.pretrained={run_dir}", "model.freeze_encoder=true", "fit.epochs=2")
    result = train(config, tmp_path / "frozen")
    model = load_run(tmp_path / "frozen").model
    pretrained = load_run(run_dir).model.bert.state_dict()
    assert all(torch.equal(tensor, pretrained[name]) for name, tensor in model.bert.state_dict().items())
    assert result.history.losses[-1] < result.history.losses[0]  # the head learns
    assert not any(p.requires_grad for p in model.bert.parameters())


def test_the_control_has_the_pretrained_sizes_and_tokenizer_but_fresh_weights(mlm_run, review_file):
    run_dir, _ = mlm_run
    config = sentiment(review_file, f"model.pretrained={run_dir}", "model.pretrained_weights=false")
    chosen = recipe("sentiment")
    data = chosen.build_data(config)
    torch.manual_seed(0)
    model = chosen.build_model(config, data.state)
    chosen.initialize(model, config, data)
    pretrained = load_run(run_dir).model.bert.state_dict()
    assert all(tensor.shape == pretrained[name].shape for name, tensor in model.bert.state_dict().items())
    embedding = model.bert.embeddings.word_embeddings.weight
    assert not torch.equal(embedding, pretrained["embeddings.word_embeddings.weight"])
    assert data.tokenizers["tokenizer.json"].get_vocab() == load_run(run_dir).tokenizer.get_vocab()


def test_model_pretrained_names_what_it_cannot_use(mlm_run, review_file, tmp_path):
    run_dir, _ = mlm_run
    with pytest.raises(SeqlabError, match=r"data\.max_length: 64 tokens, but the pretrained encoder has 32"):
        sentiment(review_file, f"model.pretrained={run_dir}", "data.max_length=64")
    with pytest.raises(SeqlabError, match="does not exist"):
        sentiment(review_file, f"model.pretrained={tmp_path / 'nowhere'}")
    hugging_face = tmp_path / "bert-base-uncased"
    hugging_face.mkdir()
    (hugging_face / "config.json").write_text('{"model_type": "bert"}', encoding="utf-8")
    with pytest.raises(SeqlabError, match=r"model\.pretrained: .*bert-base-uncased"):
        sentiment(review_file, f"model.pretrained={hugging_face}")
    with pytest.raises(SeqlabError, match=r"is a 'mlm' run; a language model starts from a 'lm' run"):
        load_run_config("lm", None, [f"model.pretrained={run_dir}"])
    with pytest.raises(SeqlabError, match=r"model\.freeze_encoder and model\.encoder_lr_scale are for a BERT"):
        sentiment(review_file, "model.freeze_encoder=true")


def test_a_bert_from_scratch_trains_its_own_wordpiece(review_file, tmp_path):
    config = sentiment(review_file, "model.arch=bert", "model.embedding_dim=32", "model.hidden_size=64",
                       "model.num_layers=1", "model.nhead=2", "data.vocab_size=60", "fit.epochs=1")
    result = train(config, tmp_path / "scratch")
    tokenizer = load_run(tmp_path / "scratch").tokenizer
    assert tokenizer.token_to_id("[CLS]") is not None and tokenizer.vocab_size <= 60
    assert tokenizer.encode("a " * 40).ids[-1] == tokenizer.token_to_id("[SEP]")  # cut to 24, [SEP] kept
    assert len(tokenizer.encode("a " * 40).ids) == 24 and result.state["vocab_size"] == tokenizer.vocab_size


TINY_GPT = ["data.block_size=16", "data.batch_size=16", "model.n_layer=1", "model.n_head=2", "model.n_embd=32",
            "model.dropout=0.0", "fit.eval_every=20", "fit.lr=0.01", "fit.warmup_steps=5", "fit.max_seconds=null",
            "fit.plots=false", "sample.length=10"]


def test_a_language_model_continues_from_another_run_on_a_new_text(corpus, tmp_path):
    pretrained = train(load_run_config("lm", None, [*TINY_GPT, f"data.path={corpus}", "data.tokenizer=bpe",
                                                    "data.vocab_size=300", "model.arch=gpt", "fit.max_steps=40"]),
                       tmp_path / "gpt")
    assert pretrained.history.evaluations[-1]["val_loss"] < math.log(300)
    config = load_run_config("lm", None, [*TINY_GPT, "data.limit=20000", f"model.pretrained={tmp_path / 'gpt'}",
                                          "data.block_size=8", "fit.max_steps=20"])
    assert (config.model.arch, config.model.n_embd, config.data.tokenizer, config.data.block_size) == \
        ("gpt", 32, "bpe", 16)  # the pretrained model, its tokenizer and its context window
    chosen = recipe("lm")
    data = chosen.build_data(config)
    model = chosen.build_model(config, data.state)
    chosen.initialize(model, config, data)
    weights = load_run(tmp_path / "gpt").model.state_dict()
    assert all(torch.equal(tensor, weights[name]) for name, tensor in model.state_dict().items())  # step 0
    result = train(config, tmp_path / "continued")
    assert result.history.losses[-1] < result.history.losses[0]
    assert load_run(tmp_path / "continued").tokenizer.get_vocab() == load_run(tmp_path / "gpt").tokenizer.get_vocab()


@pytest.mark.parametrize("name", ["bert", "bert-mlm"])
def test_a_hugging_face_bert_folder_starts_the_classifier(name, hf_folder, review_file, tmp_path):
    from seqlab.models.huggingface import load_pretrained

    folder = hf_folder(name)
    config = sentiment(review_file, f"model.pretrained={folder}", "fit.epochs=2", "model.pooling=cls")
    assert (config.model.arch, config.model.embedding_dim, config.model.hidden_size, config.model.num_layers,
            config.model.nhead, config.model.max_positions) == ("bert", 16, 32, 2, 2, 32)  # the checkpoint's sizes
    chosen = recipe("sentiment")
    data = chosen.build_data(config)
    assert data.tokenizers["tokenizer.json"].get_vocab() == load_pretrained(folder).tokenizer.get_vocab()
    model = chosen.build_model(config, data.state)
    chosen.initialize(model, config, data)
    loaded = load_pretrained(folder).model
    encoder = loaded if name == "bert" else loaded.bert
    for key, value in encoder.state_dict().items():
        assert torch.equal(model.bert.state_dict()[key], value), key
    result = train(config, tmp_path / name)
    assert result.history.steps > 0 and math.isfinite(result.history.losses[-1])


def test_a_hugging_face_gpt2_folder_is_not_a_bert(hf_folder, review_file):
    with pytest.raises(SeqlabError, match=r"model\.pretrained: .* holds a GPT2LMHeadModel; .* starts from a BERT"):
        sentiment(review_file, f"model.pretrained={hf_folder('gpt2')}")

"""The sentiment and language-model recipes through the runner: they learn at tiny size, save runs that reload
from the checkpoint alone, resume, and export to ONNX."""

from __future__ import annotations

import json

import pytest
import torch

from seqlab.data.datasets import RandomOffsetBlocks
from seqlab.data.labelled import read_labelled_texts, split_indices
from seqlab.errors import SeqlabError
from seqlab.training.run_config import load_run_config
from seqlab.training.runner import evaluate_run, load_run, train
from seqlab.training.tasks import recipe
from seqlab.training.tasks.language_model import encode_stream, read_corpus


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: on a shared 2-core machine a second thread mostly waits at barriers."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def sentiment(review_file, *overrides):
    return load_run_config("sentiment", None, [
        f"data.path={review_file}", "data.val_fraction=0.25", "data.batch_size=8", "model.embedding_dim=16",
        "model.hidden_size=16", "model.dropout=0.0", "fit.epochs=12", "fit.lr=0.02", "fit.max_seconds=null",
        *overrides])


def test_sentiment_recipe_learns_a_tiny_file_and_reloads(tmp_path, review_file):
    result = train(sentiment(review_file), tmp_path / "run")
    assert result.best_metrics["accuracy"] == 1.0
    run = load_run(tmp_path / "run")
    assert run.state["labels"] == ["neg", "pos"]
    labels = [label for label, _ in run.recipe.classify(run, ["A gorgeous moving FILM", "a dull boring mess"])]
    assert labels == ["pos", "neg"]  # the tokenizer lower-cases, as in training
    assert evaluate_run(tmp_path / "run")["accuracy"] == 1.0
    assert load_run(tmp_path / "run" / "checkpoints" / "best.safetensors").state == run.state  # the file alone


def test_sentiment_on_the_real_data_splits_and_counts(data_dir):
    texts, labels, names = read_labelled_texts(data_dir / "sentence_polarity")
    assert (len(texts), sum(labels), names) == (10662, 5331, ["neg", "pos"])
    train_idx, val_idx = split_indices(len(texts), 0.1, seed=0)
    assert (len(train_idx), len(val_idx)) == (9596, 1066) and not set(train_idx) & set(val_idx)
    folds = [split_indices(len(texts), fold=k, folds=10)[1] for k in range(10)]
    assert sorted(i for fold in folds for i in fold) == list(range(len(texts)))  # the folds partition the data


def test_user_files_are_validated_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("sentence,label\nfine,pos\n", encoding="utf-8")
    with pytest.raises(SeqlabError, match=r"bad.csv: line 1: expected a column named 'text'"):
        read_labelled_texts(bad)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "ok", "label": "a"}\n{"text": "no label"}\n', encoding="utf-8")
    with pytest.raises(SeqlabError, match=r"broken.jsonl: line 2: expected a JSON object with (a )?key 'label'"):
        read_labelled_texts(broken)


def test_an_excel_csv_with_a_byte_order_mark_and_windows_line_endings_reads(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbftext,label\r\ngreat film,pos\r\ndull film,neg\r\n")
    assert read_labelled_texts(path) == (["great film", "dull film"], [1, 0], ["neg", "pos"])


TINY_LM = ["data.limit=6000", "data.block_size=16", "data.batch_size=16", "model.embedding_dim=16",
           "model.hidden_size=48", "model.num_layers=1", "model.n_layer=1", "model.n_head=2", "model.n_embd=32",
           "model.dropout=0.0", "fit.max_steps=60", "fit.eval_every=30", "fit.lr=0.01", "fit.warmup_steps=5",
           "fit.max_seconds=null", "sample.length=20", "sample.prompt=ROMEO:"]


@pytest.mark.parametrize("arch", ["gru", "gpt"])
def test_char_language_model_learns_and_samples(tmp_path, arch):
    config = load_run_config("lm", None, [*TINY_LM, f"model.arch={arch}"])
    result = train(config, tmp_path / arch)
    evaluations = result.history.evaluations
    uniform = torch.log(torch.tensor(float(len(set(read_corpus(config.data)))))).item()
    assert evaluations[0]["val_loss"] < uniform - 0.5  # well below a uniform guess after 30 steps
    assert result.best_metrics["bits_per_char"] == pytest.approx(result.best_metrics["loss"] / 0.6931471805599453)
    assert result.sample.startswith("ROMEO:") and len(result.sample) == 20 + len("ROMEO:")
    assert (tmp_path / arch / "sample.txt").read_text(encoding="utf-8") == result.sample


def test_a_prompt_the_tokenizer_cannot_read_fails_before_training_and_leaves_no_folder(tmp_path):
    config = load_run_config("lm", None, [*TINY_LM, "sample.prompt=ROMEO\u2603"])
    with pytest.raises(SeqlabError, match=r"prompt 'ROMEO\u2603'.*is not in the vocabulary"):
        train(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_text_too_short_for_one_batch_is_an_error_naming_the_sizes(tmp_path):
    config = load_run_config("lm", "char_lstm", ["data.limit=1500", "sample.prompt=First"])
    with pytest.raises(SeqlabError, match=r"makes \d+ blocks of data.block_size=64, fewer than one batch of "
                                          r"data.batch_size=32"):
        train(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_random_offset_blocks_shift_by_epoch_and_keep_their_length():
    blocks = RandomOffsetBlocks(torch.arange(100), block_size=8, seed=3)
    offsets = set()
    for epoch in range(6):
        blocks.set_epoch(epoch)
        x, y = blocks[len(blocks) - 1]
        assert torch.equal(y, x + 1) and len(x) == 8 and len(blocks) == 11
        offsets.add(blocks.offset)
    assert len(offsets) > 1


def test_a_finished_run_resumed_with_a_larger_budget_equals_one_longer_run(tmp_path):
    base = [*TINY_LM, "model.arch=gru", "fit.schedule=constant", "fit.eval_every=20", "sample.length=5"]
    long = train(load_run_config("lm", None, [*base, "fit.max_steps=60"]), tmp_path / "long")
    short = load_run_config("lm", None, [*base, "fit.max_steps=40"])
    train(short, tmp_path / "short")
    from dataclasses import replace

    resumed = train(replace(short, fit=replace(short.fit, max_steps=60)), tmp_path / "short", resume=True)
    assert resumed.history.steps == 60
    assert resumed.history.losses == long.history.losses  # bit for bit
    assert json.loads((tmp_path / "short" / "config.json").read_text())["fit"]["max_steps"] == 60
    with pytest.raises(SeqlabError, match=r"other settings \(fit.lr\)"):
        train(replace(short, fit=replace(short.fit, lr=0.5)), tmp_path / "short", resume=True)


def test_resume_of_a_changed_text_fails_before_anything_is_written(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("abcdefgh \n" * 400, encoding="utf-8")
    config = load_run_config("lm", None, [*TINY_LM, f"data.path={text}", "sample.prompt=ab"])
    train(config, tmp_path / "run")
    before = {p: p.read_bytes() for p in (tmp_path / "run").rglob("*") if p.is_file() and p.name != ".lock"}
    text.write_text("abcdefgh \n" * 400 + "xyzw", encoding="utf-8")  # four new characters
    with pytest.raises(SeqlabError, match=r"text\.txt: 'x' is not in the vocabulary.*when the run started"):
        train(config, tmp_path / "run", resume=True)
    after = {p: p.read_bytes() for p in (tmp_path / "run").rglob("*") if p.is_file() and p.name != ".lock"}
    assert after == before  # the finished run is untouched: it still generates from its checkpoint
    run = load_run(tmp_path / "run")
    assert run.recipe.sample(run).startswith("ab")


def test_onnx_export_of_the_classifier_matches_onnxruntime(tmp_path, review_file):
    pytest.importorskip("onnxruntime")
    from seqlab.training.export import export_run

    train(sentiment(review_file, "model.embedding_dim=8", "model.hidden_size=8", "fit.epochs=1"), tmp_path / "run")
    path, difference = export_run(tmp_path / "run")
    assert path == tmp_path / "run" / "model.onnx" and path.is_file()
    assert difference < 1e-5


@pytest.mark.parametrize("arch", ["lstm", "gpt"])
def test_onnx_export_of_language_models_matches_onnxruntime(tmp_path, arch):
    pytest.importorskip("onnxruntime")
    from seqlab.training.export import export_onnx

    config = load_run_config("lm", None, [*TINY_LM, f"model.arch={arch}", "data.block_size=32"])
    torch.manual_seed(0)
    model = recipe("lm").build_model(config, {"vocab_size": 40, "block_size": 32}).eval()
    assert export_onnx(model, tmp_path / f"{arch}.onnx", 40, lengths=(5, 23)) < 1e-4


def test_bpe_language_model_reports_bits_per_character_not_per_token(tmp_path):
    config = load_run_config("lm", None, [*TINY_LM, "data.tokenizer=bpe", "data.vocab_size=300", "model.arch=gru",
                                          "fit.max_steps=20", "fit.eval_every=20"])
    result = train(config, tmp_path / "bpe")
    tokenizer = load_run(tmp_path / "bpe").tokenizer
    assert tokenizer.vocab_size == 300
    text = read_corpus(config.data)
    assert tokenizer.decode(encode_stream(tokenizer, text[:500]).tolist()) == text[:500]  # byte-level round trip
    chars_per_token = result.history.evaluations[-1]["val_loss"] / result.best_metrics["bits_per_char"] / 0.693147
    assert 1.2 < chars_per_token < 4  # merges make tokens longer than one character


def test_word_vectors_start_the_embedding(tmp_path, review_file):
    from seqlab.embeddings.formats import save_vectors
    from seqlab.embeddings.keyed_vectors import KeyedVectors

    save_vectors(KeyedVectors(["gorgeous", "dull"], torch.tensor([[1.0, 2.0, 3.0, 4.0], [-1.0, -2.0, -3.0, -4.0]])),
                 tmp_path / "v.txt")
    config = sentiment(review_file, "model.embedding_dim=4", f"model.vectors={tmp_path / 'v.txt'}",
                       "model.freeze_vectors=true")
    chosen = recipe("sentiment")
    data = chosen.build_data(config)
    model = chosen.build_model(config, data.state)
    chosen.initialize(model, config, data)
    row = data.tokenizers["tokenizer.json"].token_to_id("gorgeous")
    assert model.embedding.weight[row].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert model.embedding.weight[0].abs().sum() == 0 and not model.embedding.weight.requires_grad
    wide = sentiment(review_file, "model.embedding_dim=8", f"model.vectors={tmp_path / 'v.txt'}")
    with pytest.raises(SeqlabError, match=r"4-dimensional vectors, expected model\.embedding_dim = 8"):
        chosen.initialize(chosen.build_model(wide, data.state), wide, data)

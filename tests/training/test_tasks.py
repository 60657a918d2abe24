"""The sentiment and language-model recipes learn at tiny size, save runs that reload, and export to ONNX."""

from __future__ import annotations

import json

import pytest
import torch

from seqlab.errors import SeqlabError
from seqlab.training.config import apply_overrides
from seqlab.training.tasks import classification, language_model
from seqlab.training.tasks.classification import ClassificationConfig, WordVocabulary, split_indices

POSITIVE = ["a gorgeous witty film", "great fun and moving", "a wonderful moving story", "witty great and gorgeous"]
NEGATIVE = ["a dull tedious mess", "boring and flat", "a tedious boring film", "flat dull and lifeless"]


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: on a shared 2-core machine a second thread mostly waits at barriers."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def review_file(tmp_path):
    rows = [{"text": t, "label": "pos"} for t in POSITIVE * 6] + [{"text": t, "label": "neg"} for t in NEGATIVE * 6]
    path = tmp_path / "reviews.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_sentiment_recipe_learns_a_tiny_file_and_reloads(tmp_path, review_file):
    config = apply_overrides(ClassificationConfig(), [
        f"data.path={review_file}", "data.val_fraction=0.25", "data.batch_size=8", "model.embedding_dim=16",
        "model.hidden_size=16", "model.dropout=0.0", "fit.epochs=12", "fit.lr=0.02", "fit.max_seconds=null"])
    result = classification.train(config, tmp_path / "run")
    assert result.best_metrics["accuracy"] == 1.0
    loaded = classification.load(tmp_path / "run", config)
    assert loaded.labels == ["neg", "pos"]
    assert [label for label, _ in loaded.predict(["a gorgeous moving film", "a dull boring mess"])] == ["pos", "neg"]
    assert classification.evaluate_run(tmp_path / "run", config)["accuracy"] == 1.0


def test_sentiment_on_the_real_data_splits_and_counts(data_dir):
    config = ClassificationConfig()
    texts, labels, names = classification.read_labelled_texts(config.data)
    assert (len(texts), sum(labels), names) == (10662, 5331, ["neg", "pos"])
    train, val = split_indices(len(texts), config.data)
    assert (len(train), len(val)) == (9596, 1066) and not set(train) & set(val)
    folds = [split_indices(len(texts), apply_overrides(config, [f"data.fold={k}"]).data)[1] for k in range(10)]
    assert sorted(i for fold in folds for i in fold) == list(range(len(texts)))  # the folds partition the data


def test_user_files_are_validated_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("sentence,label\nfine,pos\n", encoding="utf-8")
    config = apply_overrides(ClassificationConfig(), [f"data.path={bad}"])
    with pytest.raises(SeqlabError, match=r"bad.csv, line 1: expected a column named 'text'"):
        classification.read_labelled_texts(config.data)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "ok", "label": "a"}\n{"text": "no label"}\n', encoding="utf-8")
    config = apply_overrides(ClassificationConfig(), [f"data.path={broken}"])
    with pytest.raises(SeqlabError, match=r"broken.jsonl, line 2: expected a JSON object with key 'label'"):
        classification.read_labelled_texts(config.data)


def test_word_vocabulary_round_trips_and_reads_in_hugging_face_tokenizers(tmp_path):
    vocabulary = WordVocabulary.build(["b a a", "c a b"], min_count=2)
    assert vocabulary.words == ["<pad>", "<unk>", "a", "b"]
    assert vocabulary.encode("a c b") == [2, 1, 3]
    assert WordVocabulary.from_json(vocabulary.to_json()).words == vocabulary.words
    tokenizers = pytest.importorskip("tokenizers")
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(vocabulary.to_json()), encoding="utf-8")
    assert tokenizers.Tokenizer.from_file(str(path)).encode("a c b").ids == [2, 1, 3]


TINY_LM = ["data.limit=6000", "data.block_size=16", "data.batch_size=16", "model.embedding_dim=16",
           "model.hidden_size=48", "model.num_layers=1", "model.n_layer=1", "model.n_head=2", "model.n_embd=32",
           "model.dropout=0.0", "fit.max_steps=60", "fit.eval_every=30", "fit.lr=0.01", "fit.warmup_steps=5",
           "fit.max_seconds=null", "sample.length=20"]


@pytest.mark.parametrize("arch", ["gru", "gpt"])
def test_char_language_model_learns_and_samples(tmp_path, arch):
    config = apply_overrides(language_model.LanguageModelConfig(), [*TINY_LM, f"model.arch={arch}"])
    result = language_model.train(config, tmp_path / arch)
    evaluations = result.history.evaluations
    uniform = torch.log(torch.tensor(float(len(set(language_model.read_text(config.data)))))).item()
    assert evaluations[0]["val_loss"] < uniform - 0.5  # well below a uniform guess after 30 steps
    assert result.best_metrics["bits_per_char"] == pytest.approx(result.best_metrics["loss"] / 0.6931471805599453)
    assert result.sample.startswith(config.sample.prompt) and len(result.sample) == 20 + len(config.sample.prompt)
    assert (tmp_path / arch / "sample.txt").read_text(encoding="utf-8") == result.sample


def test_random_offset_blocks_shift_by_epoch_and_keep_their_length():
    stream = torch.arange(100)
    blocks = language_model.RandomOffsetBlocks(stream, block_size=8, seed=3)
    offsets = set()
    for epoch in range(6):
        blocks.set_epoch(epoch)
        x, y = blocks[len(blocks) - 1]
        assert torch.equal(y, x + 1) and len(x) == 8 and len(blocks) == 11
        offsets.add(blocks.offset)
    assert len(offsets) > 1


def test_onnx_export_of_the_classifier_matches_onnxruntime(tmp_path, review_file):
    pytest.importorskip("onnxruntime")
    from seqlab.training.export import export_run

    config = apply_overrides(ClassificationConfig(), [f"data.path={review_file}", "model.embedding_dim=8",
                                                      "model.hidden_size=8", "fit.epochs=1", "fit.max_seconds=null"])
    classification.train(config, tmp_path / "run")
    path, difference = export_run(tmp_path / "run")
    assert path == tmp_path / "run" / "model.onnx" and path.is_file()
    assert difference < 1e-5


@pytest.mark.parametrize("arch", ["lstm", "gpt"])
def test_onnx_export_of_language_models_matches_onnxruntime(tmp_path, arch):
    pytest.importorskip("onnxruntime")
    from seqlab.training.export import export_onnx

    config = apply_overrides(language_model.LanguageModelConfig(), [*TINY_LM, f"model.arch={arch}",
                                                                   "data.block_size=32"])
    torch.manual_seed(0)
    model = language_model.build_model(config.model, 40, config.data.block_size).eval()
    assert export_onnx(model, tmp_path / f"{arch}.onnx", 40, lengths=(5, 23)) < 1e-4


def test_bpe_language_model_reports_bits_per_character_not_per_token(tmp_path):
    config = apply_overrides(language_model.LanguageModelConfig(), [
        *TINY_LM, "data.tokenizer=bpe", "data.vocab_size=300", "model.arch=gru", "fit.max_steps=20",
        "fit.eval_every=20"])
    result = language_model.train(config, tmp_path / "bpe")
    best = result.best_metrics
    codec = language_model.TextCodec.load(tmp_path / "bpe" / "tokenizer.json")
    assert codec.kind == "bpe" and len(codec) == 300
    text = language_model.read_text(config.data)
    assert codec.decode(codec.encode(text[:500]).tolist()) == text[:500]  # byte-level BPE round-trips
    chars_per_token = result.history.evaluations[-1]["val_loss"] / best["bits_per_char"] / 0.6931471805599453
    assert 1.2 < chars_per_token < 4  # merges make tokens longer than one character


def test_word_vectors_start_the_embedding(tmp_path, review_file):
    from seqlab.embeddings.formats import save_vectors
    from seqlab.embeddings.keyed_vectors import KeyedVectors

    save_vectors(KeyedVectors(["gorgeous", "dull"], torch.tensor([[1.0, 2.0, 3.0, 4.0], [-1.0, -2.0, -3.0, -4.0]])),
                 tmp_path / "v.txt")
    config = apply_overrides(ClassificationConfig(), [f"data.path={review_file}", "model.embedding_dim=4",
                                                      f"model.vectors={tmp_path / 'v.txt'}",
                                                      "model.freeze_vectors=true"])
    data = classification.build_data(config)
    model = classification.build_model(config.model, data.vocabulary, 2)
    row = data.vocabulary.index["gorgeous"]
    assert model.embedding.weight[row].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert model.embedding.weight[0].abs().sum() == 0 and not model.embedding.weight.requires_grad
    with pytest.raises(SeqlabError, match=r"4-dimensional vectors, expected model\.embedding_dim = 8"):
        classification.build_model(apply_overrides(config, ["model.embedding_dim=8"]).model, data.vocabulary, 2)

"""The tagging recipe: exact-span entity F1, the vocabulary, and a tiny run end to end."""

import json
import random

import pytest
import torch

from seqlab.errors import SeqlabError
from seqlab.training.config import FitConfig
from seqlab.training.tasks.tagging import (
    TaggerModelConfig,
    TaggingConfig,
    TaggingDataConfig,
    TaggingVocabulary,
    bio_spans,
    entity_scores,
    load,
    train,
)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors gain nothing from threads, and on a shared loaded machine two threads spin-wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_spans_follow_conlleval():
    assert bio_spans(["B-per", "I-per", "O", "B-loc"]) == {(0, 1, "per"), (3, 3, "loc")}
    assert bio_spans(["O", "I-per", "I-per", "I-loc"]) == {(1, 2, "per"), (3, 3, "loc")}
    assert bio_spans(["B-per", "B-per"]) == {(0, 0, "per"), (1, 1, "per")}


def test_entity_scores_need_exact_spans():
    gold = [["B-per", "I-per", "O", "B-loc"], ["B-org", "O"]]
    predicted = [["B-per", "O", "O", "B-loc"], ["B-org", "O"]]  # the person's span is cut short
    scores = entity_scores(gold, predicted)
    assert scores["precision"] == pytest.approx(2 / 3) and scores["recall"] == pytest.approx(2 / 3)
    assert entity_scores([["O"]], [["O"]])["f1"] == 0.0


def test_vocabulary_round_trip():
    from seqlab.data import TaggedSentence

    vocab = TaggingVocabulary.build([TaggedSentence(["Paris", "in", "2024"], ["B-loc", "O", "O"])])
    words, chars = vocab.encode(["paris", "1999", "Rome"], max_word_chars=3)
    assert words.tolist() == [vocab.word_index["paris"], vocab.word_index["0000"], 1]
    assert chars.shape == (3, 3) and vocab.tags[0] == "O"
    assert TaggingVocabulary.from_json(vocab.to_json()).words == vocab.words
    with pytest.raises(SeqlabError, match="B-per"):
        vocab.encode_tags(["B-per"])


def _write_corpus(path, n, seed):
    rng = random.Random(seed)
    names, words = ["Alice", "Bob", "Carol", "Dave", "Erin"], ["the", "cat", "saw", "a", "dog", "ran"]
    lines = []
    for _ in range(n):
        for _ in range(rng.randint(3, 7)):
            if rng.random() < 0.3:
                lines += [f"{rng.choice(names)}\tB-person", f"{rng.choice(names)}\tI-person"]
            else:
                lines.append(f"{rng.choice(words)}\tO")
        lines.append("")
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_it_learns_a_toy_ner_corpus(tmp_path, capsys):
    train_file = _write_corpus(tmp_path / "train.conll", 48, 0)
    dev_file = _write_corpus(tmp_path / "dev.conll", 16, 1)
    config = TaggingConfig(
        data=TaggingDataConfig(train=train_file, dev=dev_file, test=dev_file, batch_size=8),
        model=TaggerModelConfig(embedding_dim=16, char_dim=8, char_filters=8, hidden_size=16, dropout=0.0),
        fit=FitConfig(epochs=4, lr=1e-2, metric="f1", mode="max"))
    result = train(config, tmp_path / "run")
    assert result.test_metrics["f1"] > 0.8
    saved = json.loads((tmp_path / "run" / "test_metrics.json").read_text())
    assert saved["f1"] == pytest.approx(result.test_metrics["f1"])
    tagger = load(tmp_path / "run", config)
    assert ("Alice Bob", "person") in tagger.entities("the cat saw Alice Bob")
    from seqlab.cli.app import main

    with pytest.raises(SystemExit) as done:
        main(["tag", str(tmp_path / "run"), "the cat saw Alice Bob"])
    assert done.value.code == 0
    assert "Alice Bob (person)" in capsys.readouterr().out


def test_a_malformed_file_names_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.conll"
    bad.write_text("word\tO\nno-tab-here\n")
    config = TaggingConfig(data=TaggingDataConfig(train=str(bad), dev=str(bad), test=str(bad)))
    with pytest.raises(SeqlabError, match=r"bad\.conll: line 2"):
        train(config, None)

"""The tagging recipe: exact-span entity F1, the tokenizers, and a tiny run end to end."""

import json
import random

import pytest
import torch

from seqlab.data import TaggedSentence
from seqlab.data.tagging import encode_words
from seqlab.errors import SeqlabError
from seqlab.metrics.tagging import bio_spans, entity_scores
from seqlab.text.factories import PAD, UNK, character_tokenizer, lowercase_digits_to_zero, word_tokenizer
from seqlab.training.run_config import load_run_config
from seqlab.training.runner import load_run, train
from seqlab.training.tasks.tagging import tag_order


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


def test_word_and_character_ids_of_a_sentence():
    sentence = TaggedSentence(["Paris", "in", "2024"], ["B-loc", "O", "O"])
    words = word_tokenizer([" ".join(sentence.tokens)], normalizer=lowercase_digits_to_zero())
    chars = character_tokenizer("".join(sentence.tokens), specials=(PAD, UNK))
    word_ids, char_ids = encode_words(["Paris", "1999", "Rome"], words, chars, max_word_chars=3)
    assert word_ids.tolist() == [words.token_to_id("paris"), words.token_to_id("0000"), words.token_to_id(UNK)]
    assert char_ids.shape == (3, 3) and char_ids[2, 0] == chars.token_to_id(UNK)  # "R" was never seen
    assert char_ids[0].tolist() == [chars.token_to_id(c) for c in "Par"]
    assert tag_order(["I-loc", "O", "B-loc", "B-per"]) == ["O", "B-loc", "I-loc", "B-per"]


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
    config = load_run_config("ner", None, [
        f"data.train={train_file}", f"data.dev={dev_file}", f"data.test={dev_file}", "data.batch_size=8",
        "model.embedding_dim=16", "model.char_dim=8", "model.char_filters=8", "model.hidden_size=16",
        "model.dropout=0.0", "fit.epochs=4", "fit.lr=1e-2"])
    result = train(config, tmp_path / "run")
    assert result.results["f1"] > 0.8
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["f1"] == pytest.approx(result.results["f1"])
    run = load_run(tmp_path / "run")
    assert ("Alice Bob", "person") in run.recipe.tag(run, "the cat saw Alice Bob")
    from seqlab.cli.app import main

    with pytest.raises(SystemExit) as done:
        main(["tag", str(tmp_path / "run"), "the cat saw Alice Bob"])
    assert done.value.code == 0
    assert "Alice Bob (person)" in capsys.readouterr().out


def test_a_malformed_file_names_the_file_and_line_and_leaves_no_run_folder(tmp_path):
    bad = tmp_path / "bad.conll"
    bad.write_text("word\tO\nno-tab-here\n")
    config = load_run_config("ner", None, [f"data.train={bad}", f"data.dev={bad}", f"data.test={bad}"])
    with pytest.raises(SeqlabError, match=r"bad\.conll: line 2"):
        train(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()

"""Malformed tokenizer.json files: a one-line SeqlabError naming the file and the field, never a traceback of
another type, and never a file that loads but silently differs from what ``tokenizers`` makes of it."""

from __future__ import annotations

import contextlib
import copy
import json

import pytest
from _parity import same_encoding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqlab.errors import SeqlabError
from seqlab.text import Tokenizer

hf = pytest.importorskip("tokenizers")
N, P, D, PP, M, T = hf.normalizers, hf.pre_tokenizers, hf.decoders, hf.processors, hf.models, hf.trainers

BPE = {"version": "1.0", "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "<unk>": 3},
                                   "merges": [["a", "b"]], "unk_token": "<unk>"}}
CASES = {
    "missing vocab": ({"model": {"type": "BPE", "merges": []}}, "model.vocab: expected this field"),
    "model as a list": ({"model": [["a", 0]]}, "model: expected an object, got a list"),
    "vocab as a list": ({"model": {"type": "BPE", "vocab": ["h", "e", "l", "o"], "merges": []}},
                        "model.vocab: expected an object, got a list"),
    "invalid regex": ({**BPE, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"},
                                                "behavior": "Isolated", "invert": False}},
                      "pre_tokenizer: pattern '(unclosed': not a valid regular expression"),
    "merge of unknown tokens": ({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [["a", "z"]]}},
                                "model.merges[0] ('a', 'z'): 'z' is not in the vocabulary"),
    "merge result missing": ({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}},
                             "the result 'ab' is not in the vocabulary"),
    "bad merge string": ({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b c"]}},
                         "model.merges[0]: expected 'left right'"),
    "negative id": ({"model": {"type": "WordLevel", "vocab": {"a": -1}, "unk_token": "a"}},
                    "model.vocab['a']: expected an id from 0 to 4294967295"),
    "duplicate ids": ({"model": {"type": "WordLevel", "vocab": {"a": 0, "b": 0}, "unk_token": "a"}},
                      "model.vocab: id 0 is given to both 'a' and 'b'"),
    "unk_id out of range": ({"model": {"type": "Unigram", "vocab": [["a", -1.0]], "unk_id": 5}},
                            "model.unk_id: expected an index into the vocabulary of 1, got 5"),
    "pad id out of range": ({**BPE, "padding": {"strategy": "BatchLongest", "direction": "Right",
                                                "pad_to_multiple_of": None, "pad_id": 99, "pad_type_id": 0,
                                                "pad_token": "<pad>"}}, "padding.pad_id: expected an id of the voc"),
    "template id out of range": ({**BPE, "post_processor": {"type": "BertProcessing", "sep": ["</s>", 7],
                                                            "cls": ["<s>", 8]}},
                                 "post_processor.sep: expected an id of the vocabulary"),
    "unknown model type": ({"model": {"type": "SentencePiece", "vocab": {}}}, "model.type: expected one of BPE"),
    "unknown normalizer": ({**BPE, "normalizer": {"type": "Unicode"}}, "normalizer.type: expected one of"),
    "true as an id": ({"model": {"type": "WordLevel", "vocab": {"a": True}, "unk_token": "a"}},
                      "model.vocab['a']: expected an id"),
    "type of the wrong kind": ({**BPE, "decoder": {"type": ["Fuse"]}}, "decoder.type: expected a type name"),
    "dropout": ({"model": {**BPE["model"], "dropout": 0.1}}, "model.dropout: BPE dropout"),
    "stride": ({**BPE, "truncation": {"direction": "Right", "max_length": 8, "strategy": "LongestFirst",
                                      "stride": 2}}, "truncation.stride: overflowing windows"),
    "bad version": ({**BPE, "version": "2.0"}, "version: expected '1.0'"),
    "added token without a field": ({**BPE, "added_tokens": [{"id": 3, "content": "<unk>"}]},
                                    "added_tokens[0].special: expected this field"),
    "bad charsmap": ({**BPE, "normalizer": {"type": "Precompiled", "precompiled_charsmap": "not base64!"}},
                     "normalizer.precompiled_charsmap: expected base64 text"),
    "processor type against its fields": ({**BPE, "post_processor": {"type": "ByteLevel", "sep": ["b", 1],
                                                                     "cls": ["a", 0]}},
                                          "the type says ByteLevel but the fields are those of BertProcessing"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_named_malformed_files_fail_in_one_line(name, tmp_path):
    data, expected = CASES[name]
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(SeqlabError) as error:
        Tokenizer.from_file(path)
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{path}: ") and expected in message, message


@pytest.mark.parametrize(("content", "expected"), [
    ("[" * 200_000 + "]" * 200_000, "nested at most 128 deep"),
    ('{"model": ' + '{"a": ' * 300 + "1" + "}" * 301, "nested at most 128 deep"),
    (json.dumps(BPE)[:40], "expected JSON, got a parse error"),
    ("", "expected JSON, got a parse error"),
    ('{"model": {"type": "Unigram", "vocab": [["a", NaN]], "unk_id": 0}}', r"got NaN \(not JSON\)"),
])
def test_unreadable_json_fails_in_one_line(content, expected, tmp_path):
    path = tmp_path / "tokenizer.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SeqlabError, match=expected) as error:
        Tokenizer.from_file(path)
    assert str(error.value).startswith(str(path)) and "\n" not in str(error.value)


def test_files_that_are_not_utf8_missing_or_folders(tmp_path):
    latin = tmp_path / "latin.json"
    latin.write_bytes(json.dumps({"model": {"type": "WordLevel", "vocab": {"é": 0}, "unk_token": "é"}},
                                 ensure_ascii=False).encode("latin-1"))
    with pytest.raises(SeqlabError, match=r"not valid utf-8 .*; a tokenizer\.json must be UTF-8"):
        Tokenizer.from_file(latin)
    with pytest.raises(SeqlabError, match="no such file"):
        Tokenizer.from_file(tmp_path / "missing.json")
    with pytest.raises(SeqlabError, match="expected a file, got a folder"):
        Tokenizer.from_file(tmp_path)


def _base_files() -> list[dict]:
    corpus = ["hello world", "Hello, World! 123", "the cat sat", "naïve café", "日本 語"] * 3
    bpe = hf.Tokenizer(M.BPE(unk_token="<unk>"))
    bpe.normalizer = N.Sequence([N.NFC(), N.Replace(hf.Regex(" +"), " ")])
    bpe.pre_tokenizer = P.ByteLevel(add_prefix_space=True)
    bpe.train_from_iterator(corpus, T.BpeTrainer(vocab_size=280, special_tokens=["<unk>", "<s>", "</s>"],
                                                 initial_alphabet=P.ByteLevel.alphabet(), show_progress=False))
    bpe.post_processor = PP.RobertaProcessing(("</s>", 2), ("<s>", 1))
    bpe.decoder = D.ByteLevel()
    wordpiece = hf.Tokenizer(M.WordPiece(unk_token="[UNK]"))
    wordpiece.normalizer = N.BertNormalizer()
    wordpiece.pre_tokenizer = P.BertPreTokenizer()
    wordpiece.train_from_iterator(corpus, T.WordPieceTrainer(vocab_size=80, special_tokens=["[UNK]", "[CLS]", "[SEP]"],
                                                             show_progress=False))
    wordpiece.post_processor = PP.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                     special_tokens=[("[CLS]", 1), ("[SEP]", 2)])
    wordpiece.decoder = D.WordPiece()
    wordpiece.enable_truncation(16)
    unigram = hf.Tokenizer(M.Unigram())
    unigram.normalizer = N.Sequence([N.NFKC(), N.Strip()])
    unigram.pre_tokenizer = P.Sequence([P.WhitespaceSplit(), P.Metaspace(prepend_scheme="first")])
    unigram.train_from_iterator(corpus, T.UnigramTrainer(vocab_size=60, special_tokens=["<unk>", "<s>"],
                                                         unk_token="<unk>", show_progress=False))
    unigram.decoder = D.Sequence([D.Metaspace(), D.Strip(" ", 1, 0)])
    wordlevel = hf.Tokenizer(M.WordLevel({"<unk>": 0, "hello": 1, "world": 2, "a": 3}, unk_token="<unk>"))
    wordlevel.pre_tokenizer = P.Sequence([P.Whitespace(), P.Digits(True), P.Punctuation()])
    wordlevel.add_special_tokens([hf.AddedToken("<s>", lstrip=True, normalized=True)])
    wordlevel.decoder = D.CTC()
    return [json.loads(tok.to_str()) for tok in (bpe, wordpiece, unigram, wordlevel)]


BASES = _base_files()
VALUES = [None, True, False, 0, -1, 1.5, 2**40, "x", "", "BPE", [], {}, [1, 2], ["a", "b"], {"type": "BPE"},
          [["a", 1.0]], "é"]
TYPES = ["BPE", "Unigram", "WordPiece", "WordLevel", "Sequence", "Replace", "Split", "Metaspace", "ByteLevel",
         "TemplateProcessing", "RobertaProcessing", "Strip", "Precompiled", "NFC", "Nope"]
SAMPLES = ["hello world", "Hello, World! 123", "the cat sat", "naïve café", "<s> hello </s>", "日本", "a  b", ""]


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for key, value in list(obj.items())[:40]:
            yield from _paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj[:6]):
            yield from _paths(value, (*prefix, i))


@st.composite
def mutated_files(draw) -> str:
    """A valid file with one field dropped, retyped, duplicated or re-tagged, sometimes cut short."""
    data = copy.deepcopy(draw(st.sampled_from(BASES)))
    path = draw(st.sampled_from([p for p in _paths(data) if p]))
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    operation = draw(st.sampled_from(["drop", "retype", "duplicate", "retag"]))
    if operation == "drop":
        del parent[key]
    elif operation == "duplicate" and isinstance(parent, list):
        parent.insert(key, copy.deepcopy(parent[key]))
    elif operation == "retag" and isinstance(parent, dict):
        parent["type"] = draw(st.sampled_from(TYPES))
    else:
        parent[key] = copy.deepcopy(draw(st.sampled_from(VALUES)))
    text = json.dumps(data)
    if draw(st.integers(0, 9)) == 0:
        text = text[:draw(st.integers(0, len(text)))]
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_files())
def test_mutated_files_load_the_same_or_fail_with_a_seqlab_error(text):
    try:
        theirs = hf.Tokenizer.from_str(text)
    except BaseException as error:  # tokenizers refuses it (or panics): seqlab may refuse it or read it, not crash
        if isinstance(error, KeyboardInterrupt):
            raise
        theirs = None
    try:
        ours = Tokenizer.from_str(text)
    except SeqlabError as error:
        assert "\n" not in str(error)
        return
    for sample in SAMPLES:
        if theirs is None:
            with contextlib.suppress(SeqlabError):
                ours.decode(ours.encode(sample, "a pair").ids)
            continue
        same_encoding(ours, theirs, sample)
        same_encoding(ours, theirs, sample, "a pair")

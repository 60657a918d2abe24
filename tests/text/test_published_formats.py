"""The tokenizer.json layouts of published models, built with Hugging Face ``tokenizers`` itself: seqlab loads
each one and agrees with ``tokenizers`` on ids, tokens, offsets, type ids, masks and decoding, over the shared
datasets, adversarial Unicode and random text -- and seqlab's saved file means the same to ``tokenizers``.

Each family is the pipeline of a real model (GPT-2, RoBERTa, BERT uncased, Chinese BERT, Llama-style byte
fallback, T5 with a SentencePiece charsmap in the old untyped layout, ALBERT, Falcon, CLIP), trained small on
a fixed corpus; the regressions found on the real files have a pinned test each.
"""

from __future__ import annotations

import base64
import functools
import json
import unicodedata

import pytest
from _parity import TEXT, adversarial_texts, both_ways, dataset_texts, same_encoding
from hypothesis import given, settings

from seqlab.text import Tokenizer
from seqlab.text.precompiled import build_charsmap

hf = pytest.importorskip("tokenizers")
N, P, D, PP, M, T = hf.normalizers, hf.pre_tokenizers, hf.decoders, hf.processors, hf.models, hf.trainers

CORPUS = [
    "The Time Traveller (for so it will be convenient to speak of him) was expounding a recondite matter to us.",
    "His grey eyes shone and twinkled, and his usually pale face was flushed and animated.",
    "It's naïve to think the machine, in 1984, couldn't travel 42 years!  Don't you think?\n\tIndeed.",
    "日本語の文章と絵文字 🙂🙂 も少し。 Ça va? Éclair, café, résumé. 中文的句子也有一些。",
    "Quand le chat n'est pas là, les souris dansent. ¿Dónde está la biblioteca? Straße, Ærø, İstanbul.",
]


@functools.cache
def _charsmap() -> str:
    """A SentencePiece-style charsmap: NFKC of the BMP characters it changes, a grapheme rule, deletions."""
    rules = {}
    for code in range(0x80, 0x3100):
        ch = chr(code)
        if unicodedata.category(ch) not in ("Cs", "Cn") and unicodedata.normalize("NFKC", ch) != ch:
            rules[ch] = unicodedata.normalize("NFKC", ch)
    rules.update({"e\u0301": "é", "\u200b": "", "\u00ad": "", "\u3000": " "})
    return base64.b64encode(build_charsmap(rules)).decode("ascii")


def _train(model, trainer, normalizer=None, pre_tokenizer=None):
    tok = hf.Tokenizer(model)
    if normalizer is not None:
        tok.normalizer = normalizer
    if pre_tokenizer is not None:
        tok.pre_tokenizer = pre_tokenizer
    tok.train_from_iterator(CORPUS * 3, trainer)
    return tok


def _bytes(vocab_size, specials):
    return T.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, initial_alphabet=P.ByteLevel.alphabet(),
                        show_progress=False)


def gpt2():
    tok = _train(M.BPE(), _bytes(400, ["<|endoftext|>"]), pre_tokenizer=P.ByteLevel(add_prefix_space=False))
    tok.post_processor = PP.ByteLevel(trim_offsets=True)
    tok.decoder = D.ByteLevel()
    return tok


def roberta():
    tok = _train(M.BPE(), _bytes(400, ["<s>", "<pad>", "</s>", "<unk>"]), pre_tokenizer=P.ByteLevel())
    tok.add_special_tokens([hf.AddedToken("<mask>", lstrip=True)])
    tok.post_processor = PP.RobertaProcessing(("</s>", 2), ("<s>", 0), add_prefix_space=False)
    tok.decoder = D.ByteLevel()
    return tok


def bert(chinese: bool = False):
    tok = _train(M.WordPiece(unk_token="[UNK]"), T.WordPieceTrainer(
        vocab_size=300, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], show_progress=False),
        normalizer=N.BertNormalizer(lowercase=not chinese), pre_tokenizer=P.BertPreTokenizer())
    tok.post_processor = PP.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                               special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tok.decoder = D.WordPiece()
    return tok


def llama():
    tok = _train(M.BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True), T.BpeTrainer(
        vocab_size=300, special_tokens=["<unk>", "<s>", "</s>"], limit_alphabet=50, show_progress=False),
        normalizer=N.Sequence([N.Prepend("▁"), N.Replace(" ", "▁")]))
    data = json.loads(tok.to_str())
    vocab = data["model"]["vocab"]
    for byte in range(256):
        vocab[f"<0x{byte:02X}>"] = len(vocab)
    for added in data["added_tokens"]:
        added["normalized"] = True  # Llama's <s> and </s>: matched after normalization
    data["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    data["post_processor"] = {"type": "TemplateProcessing",
                              "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                         {"Sequence": {"id": "A", "type_id": 0}}],
                              "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                       {"Sequence": {"id": "A", "type_id": 0}},
                                       {"SpecialToken": {"id": "<s>", "type_id": 1}},
                                       {"Sequence": {"id": "B", "type_id": 1}}],
                              "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}}
    return hf.Tokenizer.from_str(json.dumps(data))


def t5():
    tok = _train(M.Unigram(), T.UnigramTrainer(vocab_size=250, special_tokens=["<pad>", "</s>", "<unk>"],
                                                unk_token="<unk>", show_progress=False),
                 pre_tokenizer=P.Sequence([P.WhitespaceSplit(), P.Metaspace()]))
    data = json.loads(tok.to_str())
    data["normalizer"] = {"type": "Precompiled", "precompiled_charsmap": _charsmap()}
    del data["model"]["type"]  # the layout of files written before the field existed
    data["decoder"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}
    data["post_processor"] = {"type": "TemplateProcessing",
                              "single": [{"Sequence": {"id": "A", "type_id": 0}},
                                         {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                              "pair": [{"Sequence": {"id": "A", "type_id": 0}},
                                       {"SpecialToken": {"id": "</s>", "type_id": 0}},
                                       {"Sequence": {"id": "B", "type_id": 0}},
                                       {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                              "special_tokens": {"</s>": {"id": "</s>", "ids": [1], "tokens": ["</s>"]}}}
    return hf.Tokenizer.from_str(json.dumps(data))


def albert():
    normalizer = N.Sequence([N.Replace("``", '"'), N.Replace("''", '"'), N.NFKD(), N.StripAccents(), N.Lowercase(),
                             N.Replace(hf.Regex(" {2,}"), " ")])
    tok = _train(M.Unigram(), T.UnigramTrainer(vocab_size=250, special_tokens=["<pad>", "<unk>", "[CLS]", "[SEP]"],
                                                unk_token="<unk>", show_progress=False),
                 normalizer=normalizer, pre_tokenizer=P.Sequence([P.WhitespaceSplit(), P.Metaspace()]))
    tok.post_processor = PP.TemplateProcessing(single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
                                               special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tok.decoder = D.Metaspace()
    return tok


def falcon():
    pre = P.Sequence([P.Punctuation("contiguous"), P.ByteLevel(add_prefix_space=False, use_regex=True),
                      P.Digits(individual_digits=False), P.Split(hf.Regex(r"[0-9][0-9][0-9]"), "isolated")])
    tok = _train(M.BPE(), _bytes(400, [">>ABSTRACT<<", "<|endoftext|>"]), pre_tokenizer=pre)
    tok.decoder = D.ByteLevel()
    return tok


def clip():
    tok = _train(M.BPE(unk_token="<|endoftext|>", end_of_word_suffix="</w>"), T.BpeTrainer(
        vocab_size=350, special_tokens=["<|startoftext|>", "<|endoftext|>"], end_of_word_suffix="</w>",
        limit_alphabet=60, show_progress=False),
        normalizer=N.Sequence([N.NFC(), N.Replace(hf.Regex(r"\s+"), " "), N.Lowercase()]),
        pre_tokenizer=P.Sequence([P.Split(hf.Regex(r"'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"),
                                          "removed", invert=True), P.ByteLevel(add_prefix_space=False)]))
    tok.post_processor = PP.RobertaProcessing(("<|endoftext|>", 1), ("<|startoftext|>", 0), trim_offsets=False,
                                              add_prefix_space=False)
    tok.decoder = D.BPEDecoder(suffix="</w>")
    return tok


FAMILIES = {"gpt2": gpt2, "roberta": roberta, "bert-uncased": bert, "bert-chinese": lambda: bert(chinese=True),
            "llama": llama, "t5": t5, "albert": albert, "falcon": falcon, "clip": clip}


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family(request):
    return both_ways(FAMILIES[request.param]())


def test_adversarial_texts_and_pairs(family):
    ours, theirs = family
    texts = adversarial_texts()
    for i, text in enumerate(texts):
        same_encoding(ours, theirs, text)
        same_encoding(ours, theirs, text, texts[(i * 7 + 3) % len(texts)], add_special_tokens=i % 2 == 0)


def test_shared_datasets(family, data_dir):
    ours, theirs = family
    texts = dataset_texts(data_dir, per_file=25)
    for i, text in enumerate(texts):
        same_encoding(ours, theirs, text, texts[i - 1] if i % 4 == 0 else None)


@settings(max_examples=25, deadline=None)
@given(text=TEXT, pair=TEXT)
def test_random_text(family, text, pair):
    ours, theirs = family
    same_encoding(ours, theirs, text)
    same_encoding(ours, theirs, text, pair, add_special_tokens=False)


# ---------------------------------------------------------------- the regressions found on the real files

def test_roberta_pair_type_ids_are_zero_and_saving_keeps_the_processor():
    ours, _theirs = both_ways(roberta())
    encoding = ours.encode("one sentence", "and another")
    assert encoding.type_ids == [0] * len(encoding)
    assert encoding.tokens.count("</s>") == 3
    assert json.loads(ours.to_str())["post_processor"]["type"] == "RobertaProcessing"


def test_mask_that_strips_the_space_before_it_starts_at_the_mask():
    ours, theirs = both_ways(roberta())
    text = "Paris is the <mask> of France."
    encoding = ours.encode(text)
    at = encoding.tokens.index(" <mask>")
    assert encoding.offsets[at] == (text.index("<mask>"), text.index("<mask>") + 6)
    same_encoding(ours, theirs, text)


def test_precompiled_charsmap_and_untyped_unigram_load():
    ours, theirs = both_ways(t5())
    assert type(ours.normalizer).__name__ == "Precompiled"
    for text in ["ﬁne Ⅳ ①", "café e\u0301", "a\u200bb\u00adc", "full\u3000width"]:
        same_encoding(ours, theirs, text)


def test_offsets_under_a_whitespace_collapsing_normalizer():
    tok = _train(M.Unigram(), T.UnigramTrainer(vocab_size=200, special_tokens=["<unk>"], unk_token="<unk>",
                                                show_progress=False),
                 normalizer=N.Replace(hf.Regex(" {2,}"), " "), pre_tokenizer=P.Metaspace())
    ours, theirs = both_ways(tok)
    text = "many    spaces   between  words"
    same_encoding(ours, theirs, text)
    encoding = ours.encode(text)
    first_of_second_word = next(i for i, t in enumerate(encoding.tokens) if i and t.startswith("▁"))
    # the one space kept of a run stands for the run's last space
    assert encoding.offsets[first_of_second_word][0] == text.index("spaces") - 1


def test_bert_normalizer_keeps_unassigned_code_points():
    ours, theirs = both_ways(bert())
    for text in ["a\u0378b", "x\ufffey", "\U000e0080"]:
        same_encoding(ours, theirs, text)
        assert "[UNK]" in ours.encode(text).tokens


def test_normalized_added_tokens_match_after_normalization_and_decode_as_tokenizers():
    ours, theirs = both_ways(llama())
    text = "Hello <s>world</s> again"
    same_encoding(ours, theirs, text)
    assert "▁<s>" in ours.encode(text).tokens  # matched in its normalized form
    ids = ours.encode(text).ids
    assert ours.decode(ids, skip_special_tokens=True) == theirs.decode(ids, skip_special_tokens=True)


def test_metaspace_first_prepends_only_at_the_start():
    tok = _train(M.Unigram(), T.UnigramTrainer(vocab_size=200, special_tokens=["<unk>", "<s>"], unk_token="<unk>",
                                                show_progress=False),
                 pre_tokenizer=P.Metaspace(prepend_scheme="first"))
    tok.add_special_tokens(["<s>"])
    tok.decoder = D.Metaspace(prepend_scheme="first")
    ours, theirs = both_ways(tok)
    text = "<s>hello world<s>again"
    same_encoding(ours, theirs, text)
    assert [t for t in ours.encode(text).tokens if t.startswith("▁")] == [t for t in theirs.encode(text).tokens
                                                                          if t.startswith("▁")]


def test_nfc_offsets_cover_both_marks():
    tok = hf.Tokenizer(M.WordLevel({"<unk>": 0}, unk_token="<unk>"))
    tok.normalizer = N.NFC()
    tok.pre_tokenizer = P.WhitespaceSplit()
    ours = Tokenizer.from_str(tok.to_str())
    assert ours.encode("a\u0300\u0301").offsets == [(0, 3)] == tok.encode("a\u0300\u0301").offsets

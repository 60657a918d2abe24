"""Every component type Hugging Face ``tokenizers`` 0.23 serialises, one at a time, against ``tokenizers``.

Each component is built with ``tokenizers``, read by seqlab from its JSON, and the two are compared:

- normalizers through a tokenizer that makes every normalized character a token, so the comparison covers
  the text *and* which original characters each normalized one stands for (its offsets);
- pre-tokenizers on their pieces and spans (``pre_tokenize_str``) and inside a tokenizer;
- models, post-processors and added-token options on ids, tokens, offsets, type ids and masks;
- decoders on random id sequences, with and without ``skip_special_tokens``;
- truncation and padding on single texts, pairs and batches.

The random texts mix every assigned character of Python's Unicode database with adversarial ones.
"""

from __future__ import annotations

import json

import pytest
from _parity import TEXT, adversarial_texts, same_encoding
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.errors import SeqlabError
from seqlab.text import Tokenizer, pre_tokenizers
from seqlab.text.precompiled import build_charsmap

hf = pytest.importorskip("tokenizers")
N, P, D, PP, M, T = hf.normalizers, hf.pre_tokenizers, hf.decoders, hf.processors, hf.models, hf.trainers

CORPUS = ["The quick brown fox, it's 42 km/h!", "naïve café  résumé\tÉclair", "日本語 と 한국어 🙂👍🏽",
          "  spaces   everywhere  ", "x--y ~~ z__w 1,000.50 $5", "Σίσυφος ΣΑΣ İstanbul straße"]
EVERY_CHARACTER = r"[\s\S]"


def _charsmap() -> str:
    import base64

    return base64.b64encode(build_charsmap({"ﬁ": "fi", "Ⅳ": "IV", "e\u0301": "é", "\u200b": "", "①": "1",
                                            "\u3000": " ", "ǅ": "Dž", "x\u0301y": "Q"})).decode("ascii")


def _per_character(normalizer=None) -> hf.Tokenizer:
    """Every normalized character its own token (all unknown): offsets show the normalizer's alignment."""
    tok = hf.Tokenizer(M.WordLevel({"<unk>": 0, "a": 1, "▁": 2}, unk_token="<unk>"))
    if normalizer is not None:
        tok.normalizer = normalizer
    tok.pre_tokenizer = P.Split(hf.Regex(EVERY_CHARACTER), "isolated")
    return tok


NORMALIZERS = {
    "NFC": N.NFC(), "NFD": N.NFD(), "NFKC": N.NFKC(), "NFKD": N.NFKD(), "Lowercase": N.Lowercase(),
    "StripAccents": N.Sequence([N.NFD(), N.StripAccents()]), "Strip": N.Strip(), "Strip-left": N.Strip(right=False),
    "Replace-string": N.Replace("--", " – "), "Replace-regex": N.Replace(hf.Regex(r"\s{2,}"), " "),
    "Replace-empty-matches": N.Replace(hf.Regex(r"x*"), "-"), "Prepend": N.Prepend("▁"),
    "BertNormalizer": N.BertNormalizer(),
    "BertNormalizer-cased": N.BertNormalizer(handle_chinese_chars=False, strip_accents=True, lowercase=False),
    "Nmt": N.Nmt(), "ByteLevel": N.ByteLevel(),
    "Sequence": N.Sequence([N.NFKD(), N.StripAccents(), N.Lowercase(), N.Replace(hf.Regex(" +"), " ")]),
}


def _precompiled() -> hf.Tokenizer:
    data = json.loads(_per_character().to_str())
    data["normalizer"] = {"type": "Precompiled", "precompiled_charsmap": _charsmap()}
    return hf.Tokenizer.from_str(json.dumps(data))


@pytest.fixture(scope="module", params=[*NORMALIZERS, "Precompiled"])
def normalizer(request):
    theirs = _precompiled() if request.param == "Precompiled" else _per_character(NORMALIZERS[request.param])
    return Tokenizer.from_str(theirs.to_str()), theirs


@settings(max_examples=15, deadline=None)
@given(text=TEXT)
def test_normalizers(normalizer, text):
    ours, theirs = normalizer
    same_encoding(ours, theirs, text)


def test_normalizers_on_hard_cases(normalizer):
    ours, theirs = normalizer
    for text in adversarial_texts():
        same_encoding(ours, theirs, text)


PRE_TOKENIZERS = {
    "BertPreTokenizer": P.BertPreTokenizer(), "Whitespace": P.Whitespace(), "WhitespaceSplit": P.WhitespaceSplit(),
    "ByteLevel": P.ByteLevel(add_prefix_space=False), "ByteLevel-prefix": P.ByteLevel(add_prefix_space=True),
    "ByteLevel-noregex": P.ByteLevel(add_prefix_space=True, use_regex=False),
    "CharDelimiterSplit": P.CharDelimiterSplit("-"),
    "Digits": P.Digits(), "Digits-individual": P.Digits(individual_digits=True), "FixedLength": P.FixedLength(3),
    "Metaspace": P.Metaspace(), "Metaspace-first": P.Metaspace(prepend_scheme="first"),
    "Metaspace-never-nosplit": P.Metaspace(prepend_scheme="never", split=False), "UnicodeScripts": P.UnicodeScripts(),
    **{f"Punctuation-{b}": P.Punctuation(b) for b in pre_tokenizers.BEHAVIORS},
    **{f"Split-{b}": P.Split(hf.Regex(r"\s+|[-,.]"), b) for b in pre_tokenizers.BEHAVIORS},
    "Split-inverted": P.Split(hf.Regex(r"\w+"), "removed", invert=True), "Split-string": P.Split("ab", "isolated"),
    "Split-gpt4": P.Split(hf.Regex(pre_tokenizers.GPT4_PATTERN), "isolated"),
    "Split-anchors": P.Split(hf.Regex(r"^\s*|\s*$|\b"), "removed"),
    "Sequence": P.Sequence([P.WhitespaceSplit(), P.Digits(True), P.Punctuation("merged_with_next")]),
    "Sequence-bytelevel-first": P.Sequence([P.ByteLevel(add_prefix_space=True), P.Split("Ġ", "merged_with_next")]),
}


@pytest.fixture(scope="module", params=sorted(PRE_TOKENIZERS))
def pre_tokenizer(request):
    theirs = hf.Tokenizer(M.WordLevel({"<unk>": 0}, unk_token="<unk>"))
    theirs.pre_tokenizer = PRE_TOKENIZERS[request.param]
    return Tokenizer.from_str(theirs.to_str()), theirs


@settings(max_examples=15, deadline=None)
@given(text=TEXT)
def test_pre_tokenizers(pre_tokenizer, text):
    ours, theirs = pre_tokenizer
    assert ours.pre_tokenizer.pre_tokenize_str(text) == [(piece, tuple(span)) for piece, span in
                                                         theirs.pre_tokenizer.pre_tokenize_str(text)]
    same_encoding(ours, theirs, text)


def _bpe_byte_fallback() -> hf.Tokenizer:
    tok = _train(M.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True), T.BpeTrainer(
        vocab_size=150, special_tokens=["<unk>"], limit_alphabet=30, show_progress=False))
    data = json.loads(tok.to_str())
    for byte in range(256):
        data["model"]["vocab"][f"<0x{byte:02X}>"] = len(data["model"]["vocab"])
    return hf.Tokenizer.from_str(json.dumps(data))


def _unigram(byte_fallback: bool = False, unk: bool = True) -> hf.Tokenizer:
    tok = _train(M.Unigram(), T.UnigramTrainer(vocab_size=120, special_tokens=["<unk>"], unk_token="<unk>",
                                                show_progress=False), pre=P.Metaspace())
    data = json.loads(tok.to_str())
    data["model"]["byte_fallback"] = byte_fallback
    if byte_fallback:
        data["model"]["vocab"] += [[f"<0x{byte:02X}>", -30.0] for byte in range(256)]
    if not unk:
        data["model"]["unk_id"] = None
    return hf.Tokenizer.from_str(json.dumps(data))


def _train(model, trainer, pre=None):
    tok = hf.Tokenizer(model)
    tok.pre_tokenizer = pre or P.Whitespace()
    tok.train_from_iterator(CORPUS * 4, trainer)
    return tok


MODELS = {
    "BPE-bytes": lambda: _train(M.BPE(), T.BpeTrainer(vocab_size=320, initial_alphabet=P.ByteLevel.alphabet(),
                                                      show_progress=False), pre=P.ByteLevel()),
    "BPE-unk": lambda: _train(M.BPE(unk_token="<unk>"), T.BpeTrainer(
        vocab_size=120, special_tokens=["<unk>"], limit_alphabet=25, show_progress=False)),
    "BPE-unk-fused": lambda: _train(M.BPE(unk_token="<unk>", fuse_unk=True), T.BpeTrainer(
        vocab_size=120, special_tokens=["<unk>"], limit_alphabet=25, show_progress=False)),
    "BPE-no-unk": lambda: _train(M.BPE(), T.BpeTrainer(vocab_size=120, limit_alphabet=25, show_progress=False)),
    "BPE-prefix-suffix": lambda: _train(M.BPE(unk_token="<unk>", continuing_subword_prefix="##",
                                              end_of_word_suffix="</w>"), T.BpeTrainer(
        vocab_size=150, special_tokens=["<unk>"], continuing_subword_prefix="##", end_of_word_suffix="</w>",
        show_progress=False)),
    "BPE-ignore-merges": lambda: _train(M.BPE(unk_token="<unk>", ignore_merges=True), T.BpeTrainer(
        vocab_size=150, special_tokens=["<unk>"], show_progress=False)),
    "BPE-byte-fallback": _bpe_byte_fallback,
    "WordPiece": lambda: _train(M.WordPiece(unk_token="[UNK]", max_input_chars_per_word=12), T.WordPieceTrainer(
        vocab_size=150, special_tokens=["[UNK]"], show_progress=False)),
    "WordLevel": lambda: _train(M.WordLevel(unk_token="<unk>"), T.WordLevelTrainer(special_tokens=["<unk>"])),
    "Unigram": _unigram, "Unigram-byte-fallback": lambda: _unigram(byte_fallback=True),
    "Unigram-no-unk": lambda: _unigram(unk=False),
}


@pytest.fixture(scope="module", params=sorted(MODELS))
def model(request):
    theirs = MODELS[request.param]()
    return Tokenizer.from_str(theirs.to_str()), theirs


@settings(max_examples=20, deadline=None)
@given(text=TEXT)
def test_models(model, text):
    ours, theirs = model
    same_encoding(ours, theirs, text)


def test_untyped_models_are_read_by_their_fields(model):
    ours, theirs = model
    data = json.loads(theirs.to_str())
    kind = data["model"].pop("type")
    untyped = json.dumps(data)
    again = Tokenizer.from_str(untyped)
    assert type(again.model).__name__ == kind == type(ours.model).__name__
    same_encoding(again, hf.Tokenizer.from_str(untyped), CORPUS[1] + " " + CORPUS[2])


def _wordpiece_with(post_processor, added=()) -> hf.Tokenizer:
    tok = hf.Tokenizer(M.WordPiece({t: i for i, t in enumerate(
        ["[UNK]", "[CLS]", "[SEP]", "<s>", "</s>", "the", "quick", "Ġ", "Ġthe", "##s", "x", "a", "b"])},
        unk_token="[UNK]"))
    tok.pre_tokenizer = P.ByteLevel(add_prefix_space=False) if "Ġ" in str(post_processor) else P.WhitespaceSplit()
    tok.post_processor = post_processor
    tok.add_special_tokens(list(added))
    return tok


POST_PROCESSORS = {
    "BertProcessing": PP.BertProcessing(("[SEP]", 2), ("[CLS]", 1)),
    "RobertaProcessing": PP.RobertaProcessing(("</s>", 4), ("<s>", 3)),
    "RobertaProcessing-no-trim": PP.RobertaProcessing(("</s>", 4), ("<s>", 3), trim_offsets=False),
    "RobertaProcessing-no-prefix": PP.RobertaProcessing(("</s>", 4), ("<s>", 3), add_prefix_space=False),
    "ByteLevel": PP.ByteLevel(trim_offsets=True), "ByteLevel-prefix": PP.ByteLevel(add_prefix_space=True),
    "ByteLevel-no-trim": PP.ByteLevel(trim_offsets=False),
    "TemplateProcessing": PP.TemplateProcessing(single="[CLS]:0 $A:1 [SEP]:2", pair="[CLS] $B:1 [SEP] $A:3",
                                                special_tokens=[("[CLS]", 1), ("[SEP]", 2)]),
    "TemplateProcessing-repeat": PP.TemplateProcessing(single="$A [SEP] $A", pair="$A:0 $B:1 $A:2",
                                                       special_tokens=[("[SEP]", 2)]),
    "Sequence": PP.Sequence([PP.ByteLevel(trim_offsets=True), PP.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 3), ("</s>", 4)])]),
}


@pytest.fixture(scope="module", params=sorted(POST_PROCESSORS))
def post_processor(request):
    theirs = _wordpiece_with(POST_PROCESSORS[request.param], [hf.AddedToken("[SEP]", lstrip=True)])
    return Tokenizer.from_str(theirs.to_str()), theirs


@settings(max_examples=12, deadline=None)
@given(text=TEXT, pair=st.one_of(st.none(), TEXT), special=st.booleans())
def test_post_processors(post_processor, text, pair, special):
    ours, theirs = post_processor
    same_encoding(ours, theirs, text, pair, add_special_tokens=special)
    for words in (" the quick the", "the  quick [SEP] x"):
        same_encoding(ours, theirs, words, words, add_special_tokens=special)


DECODERS = {
    "BPEDecoder": D.BPEDecoder(suffix="</w>"), "ByteLevel": D.ByteLevel(), "WordPiece": D.WordPiece(),
    "WordPiece-no-cleanup": D.WordPiece(prefix="##", cleanup=False), "Metaspace": D.Metaspace(),
    "Metaspace-never": D.Metaspace(prepend_scheme="never"), "CTC": D.CTC(pad_token="<pad>", word_delimiter_token="|"),
    "CTC-no-cleanup": D.CTC(cleanup=False), "Replace-string": D.Replace("▁", " "),
    "Replace-regex": D.Replace(hf.Regex(r"\s+|##"), "_"), "Fuse": D.Fuse(), "Strip": D.Strip(" ", 1, 1),
    "ByteFallback": D.ByteFallback(),
    "Sequence": D.Sequence([D.Replace("▁", " "), D.ByteFallback(), D.Fuse(), D.Strip(" ", 1, 0)]),
}
DECODER_VOCAB = ["<pad>", "<s>", "</s>", "|", "▁", "▁the", "cat</w>", "sat", "##s", "##</w>", "Ġ", "Ġthe", "ÃĹ", "Ã",
                 "Ģ", "<0x41>", "<0xE6>", "<0x97>", "<0xA5>", "<0xFF>", "<0x+F>", " a ", " .", "do not", " n't", "x",
                 "日本", "  ", "'s"]


@pytest.fixture(scope="module", params=sorted(DECODERS))
def decoder(request):
    theirs = hf.Tokenizer(M.WordLevel({t: i for i, t in enumerate(DECODER_VOCAB)}, unk_token="<pad>"))
    theirs.add_special_tokens(["<s>", "</s>"])
    theirs.decoder = DECODERS[request.param]
    return Tokenizer.from_str(theirs.to_str()), theirs


@settings(max_examples=25, deadline=None)
@given(ids=st.lists(st.integers(0, len(DECODER_VOCAB) - 1), max_size=12), skip=st.booleans())
def test_decoders(decoder, ids, skip):
    ours, theirs = decoder
    assert ours.decode(ids, skip_special_tokens=skip) == theirs.decode(ids, skip_special_tokens=skip)


ADDED = [hf.AddedToken("<s>", special=True), hf.AddedToken("[MASK]", lstrip=True, special=True),
         hf.AddedToken("[X]", rstrip=True, special=False), hf.AddedToken("hi", single_word=True, special=False),
         hf.AddedToken("ＡＢ", normalized=True, special=True), hf.AddedToken("Café", normalized=True, special=False),
         hf.AddedToken(" ", special=False)]


@pytest.fixture(scope="module", params=["none", "NFKC+Lowercase", "Prepend+Replace"])
def added_tokens(request):
    theirs = _per_character({"none": None, "NFKC+Lowercase": N.Sequence([N.NFKC(), N.Lowercase()]),
                             "Prepend+Replace": N.Sequence([N.Prepend("▁"), N.Replace(" ", "▁")])}[request.param])
    theirs.add_special_tokens([t for t in ADDED if t.special])
    theirs.add_tokens([t for t in ADDED if not t.special])
    theirs.decoder = D.Fuse()
    return Tokenizer.from_str(theirs.to_str()), theirs


@settings(max_examples=25, deadline=None)
@given(words=st.lists(st.sampled_from(["<s>", "[MASK]", "[X]", "hi", "ab", "ＡＢ", "café", "Café", "CAFÉ", " ", "  ",
                                       "\t", "x", "hix", "é", "<", "s>"]), max_size=10))
def test_added_token_options(added_tokens, words):
    ours, theirs = added_tokens
    same_encoding(ours, theirs, "".join(words))
    same_encoding(ours, theirs, " ".join(words))


@pytest.mark.parametrize("strategy", ["longest_first", "only_first", "only_second"])
@pytest.mark.parametrize("direction", ["right", "left"])
def test_truncation_and_padding(strategy, direction):
    theirs = _wordpiece_with(PP.BertProcessing(("[SEP]", 2), ("[CLS]", 1)))
    theirs.enable_truncation(7, strategy=strategy, direction=direction)
    theirs.enable_padding(direction="left" if direction == "right" else "right", pad_id=0, pad_token="[UNK]",
                          pad_to_multiple_of=4)
    ours = Tokenizer.from_str(theirs.to_str())
    batches = [["the quick the", "a", "the quick the quick the quick"],
               [("the quick the quick", "a b"), ("a", "the quick the quick the quick x"), ("x", "b")]]
    for batch in batches:
        try:
            expected = theirs.encode_batch(batch)
        except Exception:
            with pytest.raises(SeqlabError):
                ours.encode_batch(batch)
            continue
        for a, b in zip(ours.encode_batch(batch), expected):
            assert (a.ids, a.type_ids, a.attention_mask, a.special_tokens_mask, a.offsets) == \
                (b.ids, b.type_ids, b.attention_mask, b.special_tokens_mask, [tuple(o) for o in b.offsets])
        for item in batch:
            same_encoding(ours, theirs, *(item if isinstance(item, tuple) else (item,)))

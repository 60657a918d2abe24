"""tokenizer.json both ways: seqlab-trained tokenizers load in Hugging Face ``tokenizers`` and give the same
ids (and offsets) on any text, and tokenizers trained by ``tokenizers`` load in seqlab and do the same."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.text import decoders, normalizers, pre_tokenizers, processors
from seqlab.text.models import BPE
from seqlab.text.tokenizer import Tokenizer
from seqlab.text.trainers import BpeTrainer, WordLevelTrainer, WordPieceTrainer

hf = pytest.importorskip("tokenizers")

# code points assigned in Python's Unicode database (the regex engines of both sides agree on these;
# characters added by later Unicode versions may be classified differently), no surrogates
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cn"]), max_size=30)
WORDS = st.lists(st.sampled_from(["the", "The", "time", "machine", "traveller", "éclair", "naïve", "日本", "🙂",
                                  "don't", "it's", ",", ".", "!", "42", "1984", " ", "  ", "\n", "\t"]),
                 max_size=12).map("".join)
ANY_TEXT = st.one_of(TEXT, WORDS)
# StripAccents uses the Mn category, whose tables in tokenizers are older: keep to Unicode 3.2's characters
OLD_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cn"]).filter(
    lambda ch: unicodedata.ucd_3_2_0.category(ch) != "Cn"), max_size=30)
CORPUS = [
    "The Time Traveller (for so it will be convenient to speak of him) was expounding a recondite matter to us.",
    "His grey eyes shone and twinkled, and his usually pale face was flushed and animated.",
    "It's naïve to think the machine, in 1984, couldn't travel 42 years!  Don't you think?\n\tIndeed.",
    "日本語の文章と絵文字 🙂🙂 も少し。 Ça va? Éclair, café, résumé.",
]


def _same(ours: Tokenizer, theirs, text: str, pair: str | None = None) -> None:
    a = ours.encode(text, pair)
    b = theirs.encode(text, pair)
    assert a.ids == b.ids
    assert a.tokens == b.tokens
    assert a.offsets == [tuple(o) for o in b.offsets]
    assert a.type_ids == b.type_ids and a.attention_mask == b.attention_mask
    assert a.special_tokens_mask == b.special_tokens_mask


@pytest.fixture(scope="module", params=["prefix-space+NFC", "plain"])
def seqlab_bpe(request):
    # "plain" takes the fast path that trims offsets once per cached piece
    tok = Tokenizer.byte_level_bpe(add_prefix_space=request.param != "plain")
    tok.normalizer = normalizers.NFC() if request.param != "plain" else None
    tok.train_from_iterator(CORPUS * 2, BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>"]))
    return tok, hf.Tokenizer.from_str(tok.to_str())


@settings(max_examples=60, deadline=None)
@given(ANY_TEXT)
def test_seqlab_bpe_in_tokenizers(seqlab_bpe, text):
    _same(*seqlab_bpe, text)


def test_seqlab_bpe_decodes_like_tokenizers(seqlab_bpe):
    ours, theirs = seqlab_bpe
    ids = ours.encode(CORPUS[3] + "<|endoftext|>").ids
    assert ours.decode(ids) == theirs.decode(ids)
    assert ours.decode(ids, skip_special_tokens=False) == theirs.decode(ids, skip_special_tokens=False)


@pytest.fixture(scope="module")
def tokenizers_bpe():
    theirs = hf.Tokenizer(hf.models.BPE())
    theirs.normalizer = hf.normalizers.Sequence([hf.normalizers.NFKC(), hf.normalizers.Lowercase()])
    theirs.pre_tokenizer = hf.pre_tokenizers.ByteLevel(add_prefix_space=False)
    theirs.post_processor = hf.processors.ByteLevel(trim_offsets=True)
    theirs.decoder = hf.decoders.ByteLevel()
    theirs.train_from_iterator(CORPUS * 2, hf.trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<s>", "</s>"], initial_alphabet=hf.pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False))
    return Tokenizer.from_str(theirs.to_str()), theirs


def test_trainer_with_tokenizers_layout_learns_the_same_merges(tokenizers_bpe):
    _, theirs = tokenizers_bpe
    ours = Tokenizer.byte_level_bpe()
    ours.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    ours.train_from_iterator(CORPUS * 2, BpeTrainer(vocab_size=400, special_tokens=["<s>", "</s>"],
                                                    layout="tokenizers"))
    expected = json.loads(theirs.to_str())["model"]
    assert ours.model.merges == [tuple(m) for m in expected["merges"]]
    assert ours.model.vocab == expected["vocab"]


@settings(max_examples=80, deadline=None)
@given(ANY_TEXT)
def test_tokenizers_bpe_in_seqlab(tokenizers_bpe, text):
    _same(*tokenizers_bpe, text)


@pytest.fixture(scope="module")
def gpt4_style():
    """A GPT-4-style split (regex, then bytes without GPT-2's regex) trained by tokenizers."""
    theirs = hf.Tokenizer(hf.models.BPE())
    theirs.pre_tokenizer = hf.pre_tokenizers.Sequence([
        hf.pre_tokenizers.Split(hf.Regex(pre_tokenizers.GPT4_PATTERN), "isolated"),
        hf.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    theirs.decoder = hf.decoders.ByteLevel()
    theirs.train_from_iterator(CORPUS, hf.trainers.BpeTrainer(
        vocab_size=350, initial_alphabet=hf.pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    return Tokenizer.from_str(theirs.to_str()), theirs


@settings(max_examples=40, deadline=None)
@given(ANY_TEXT)
def test_gpt4_split_in_seqlab(gpt4_style, text):
    _same(*gpt4_style, text)


@pytest.fixture(scope="module")
def seqlab_wordpiece():
    tok = Tokenizer.wordpiece()
    tok.train_from_iterator(CORPUS * 2, WordPieceTrainer(vocab_size=200))
    tok.post_processor = processors.TemplateProcessing(
        "[CLS] $A [SEP]", "[CLS] $A [SEP] $B:1 [SEP]:1", {"[CLS]": tok.token_to_id("[CLS]"),
                                                         "[SEP]": tok.token_to_id("[SEP]")})
    return tok, hf.Tokenizer.from_str(tok.to_str())


@settings(max_examples=60, deadline=None)
@given(st.one_of(OLD_TEXT, WORDS), st.one_of(st.none(), WORDS))
def test_seqlab_wordpiece_in_tokenizers(seqlab_wordpiece, text, pair):
    _same(*seqlab_wordpiece, text, pair)


def test_seqlab_wordpiece_decodes_like_tokenizers(seqlab_wordpiece):
    ours, theirs = seqlab_wordpiece
    ids = ours.encode(CORPUS[2]).ids
    assert ours.decode(ids) == theirs.decode(ids)


def test_tokenizers_wordpiece_in_seqlab():
    theirs = hf.Tokenizer(hf.models.WordPiece(unk_token="[UNK]"))
    theirs.normalizer = hf.normalizers.BertNormalizer()  # bert-base-uncased's pipeline
    theirs.pre_tokenizer = hf.pre_tokenizers.BertPreTokenizer()
    theirs.decoder = hf.decoders.WordPiece()
    theirs.train_from_iterator(CORPUS, hf.trainers.WordPieceTrainer(
        vocab_size=150, special_tokens=["[UNK]", "[CLS]", "[SEP]"], show_progress=False))
    theirs.post_processor = hf.processors.BertProcessing(("[SEP]", theirs.token_to_id("[SEP]")),
                                                         ("[CLS]", theirs.token_to_id("[CLS]")))
    ours = Tokenizer.from_str(theirs.to_str())
    for text in [*CORPUS, "Unseen wörds: zyzzyva!", "", "Mixed 日本語 text\x00 with\tcontrols\u200b."]:
        _same(ours, theirs, text)
        _same(ours, theirs, text, "and a second sentence.")
        assert ours.decode(ours.encode(text).ids) == theirs.decode(theirs.encode(text).ids)


@pytest.mark.parametrize("kind", ["word", "character"])
def test_word_and_character_level_in_tokenizers(kind):
    ours = Tokenizer.word_level(lowercase=True) if kind == "word" else Tokenizer.character_level()
    ours.train_from_iterator(CORPUS, WordLevelTrainer(min_frequency=1))
    theirs = hf.Tokenizer.from_str(ours.to_str())
    for text in [*CORPUS, "Unseen wörds: zyzzyva! ✨", "a\nb  c", ""]:
        _same(ours, theirs, text)
        ids = ours.encode(text).ids
        assert ours.decode(ids) == theirs.decode(ids)


def test_save_and_load_file(seqlab_bpe, tmp_path):
    ours, _ = seqlab_bpe
    path = tmp_path / "tokenizer.json"
    ours.save(path)
    again = Tokenizer.from_file(path)
    assert again.to_json() == ours.to_json()
    assert json.loads(path.read_text(encoding="utf-8"))["model"]["type"] == "BPE"
    theirs = hf.Tokenizer.from_file(str(path))
    assert theirs.encode(CORPUS[0]).ids == again.encode(CORPUS[0]).ids


def test_truncation_and_padding_match_tokenizers(seqlab_wordpiece):
    ours, _ = seqlab_wordpiece
    ours = Tokenizer.from_str(ours.to_str())
    ours.enable_truncation(12)
    ours.enable_padding(pad_token="[PAD]")
    theirs = hf.Tokenizer.from_str(ours.to_str())
    batch = [CORPUS[0], "short", ("a pair of", "sentences that run long enough to be cut down")]
    for a, b in zip(ours.encode_batch(batch), theirs.encode_batch(batch)):
        assert (a.ids, a.attention_mask, a.type_ids, a.offsets) == (b.ids, b.attention_mask, b.type_ids,
                                                                    [tuple(o) for o in b.offsets])
    assert max(len(e) for e in ours.encode_batch(batch)) == 12


def test_reads_old_merges_format():
    data = {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]},
            "pre_tokenizer": None, "decoder": {"type": "Fuse"}}
    tok = Tokenizer.from_json(data)
    assert tok.encode("abab").ids == [2, 2]
    assert isinstance(tok.model, BPE) and isinstance(tok.decoder, decoders.Fuse)


@pytest.fixture(scope="module")
def llama_style():
    """Llama's pipeline: Prepend/Replace to ▁, no pre-tokenizer, BPE with byte fallback, a decoder chain."""
    theirs = hf.Tokenizer(hf.models.BPE(unk_token="<unk>", fuse_unk=True))
    theirs.normalizer = hf.normalizers.Sequence([hf.normalizers.Prepend("▁"), hf.normalizers.Replace(" ", "▁")])
    theirs.train_from_iterator(CORPUS, hf.trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>", "<s>", "</s>"],
                                                              limit_alphabet=40, show_progress=False))
    data = json.loads(theirs.to_str())
    vocab = data["model"]["vocab"]
    for byte in range(256):
        vocab[f"<0x{byte:02X}>"] = len(vocab)
    data["model"]["byte_fallback"] = True
    data["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    text = json.dumps(data)
    return Tokenizer.from_str(text), hf.Tokenizer.from_str(text)


@settings(max_examples=60, deadline=None)
@given(ANY_TEXT)
def test_llama_style_byte_fallback_in_seqlab(llama_style, text):
    ours, theirs = llama_style
    _same(ours, theirs, text)
    ids = ours.encode(text).ids
    assert ours.decode(ids) == theirs.decode(ids)


def test_character_bpe_trainer_learns_tokenizers_merges():
    theirs = hf.Tokenizer(hf.models.BPE(unk_token="<unk>"))
    theirs.pre_tokenizer = hf.pre_tokenizers.Whitespace()
    theirs.train_from_iterator(CORPUS * 2, hf.trainers.BpeTrainer(vocab_size=250, min_frequency=2,
                                                                  special_tokens=["<unk>", "<pad>"],
                                                                  show_progress=False))
    ours = Tokenizer(BPE({}, []), pre_tokenizer=pre_tokenizers.Whitespace())
    ours.train_from_iterator(CORPUS * 2, BpeTrainer(vocab_size=250, special_tokens=["<unk>", "<pad>"],
                                                    unk_token="<unk>"))
    expected = json.loads(theirs.to_str())["model"]
    assert ours.model.merges == [tuple(m) for m in expected["merges"]]
    assert ours.model.vocab == expected["vocab"]
    text = "Unseen wörds: zyzzyva! ✨"
    assert ours.encode(text).ids == theirs.encode(text).ids

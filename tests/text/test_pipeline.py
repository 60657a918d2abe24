"""The pipeline's stages by hand: textbook cases, JSON round trips, training layouts (parity with Hugging Face
``tokenizers`` over every component is in test_components.py)."""

from __future__ import annotations

import pytest

from seqlab.errors import SeqlabError
from seqlab.text import normalizers as N
from seqlab.text import pre_tokenizers as P
from seqlab.text.encoding import Encoding
from seqlab.text.models import WordPiece
from seqlab.text.processors import TemplateProcessing
from seqlab.text.tokenizer import Tokenizer
from seqlab.text.trainers import SPECIAL_TOKENS, WordLevelTrainer

hf = pytest.importorskip("tokenizers")

NORMALIZERS = [
    (N.NFC(), hf.normalizers.NFC()), (N.NFD(), hf.normalizers.NFD()), (N.NFKC(), hf.normalizers.NFKC()),
    (N.NFKD(), hf.normalizers.NFKD()), (N.Lowercase(), hf.normalizers.Lowercase()),
    (N.Sequence([N.NFD(), N.StripAccents()]), hf.normalizers.Sequence([hf.normalizers.NFD(),
                                                                     hf.normalizers.StripAccents()])),
    (N.Replace("--", " - "), hf.normalizers.Replace("--", " - ")),
    (N.Replace(r"\s+", " ", is_regex=True), hf.normalizers.Replace(hf.Regex(r"\s+"), " ")),
    (N.Strip(), hf.normalizers.Strip()),
    (N.BertNormalizer(), hf.normalizers.BertNormalizer()),
    (N.BertNormalizer(handle_chinese_chars=False, strip_accents=False, lowercase=False),
     hf.normalizers.BertNormalizer(handle_chinese_chars=False, strip_accents=False, lowercase=False)),
]


def test_normalizer_alignment_points_into_the_original():
    normalized = N.Sequence([N.NFD(), N.StripAccents(), N.Lowercase()]).normalize(N.Normalized("Éa"))
    assert normalized.text == "ea"
    assert normalized.spans == [(0, 1), (1, 2)]


PRE_TOKENIZERS = [
    (P.Whitespace(), hf.pre_tokenizers.Whitespace()),
    (P.WhitespaceSplit(), hf.pre_tokenizers.WhitespaceSplit()),
    (P.BertPreTokenizer(), hf.pre_tokenizers.BertPreTokenizer()),
    (P.Digits(individual_digits=True), hf.pre_tokenizers.Digits(individual_digits=True)),
    (P.Digits(), hf.pre_tokenizers.Digits()),
    (P.Split(P.GPT4_PATTERN, is_regex=True), hf.pre_tokenizers.Split(hf.Regex(P.GPT4_PATTERN), "isolated")),
    (P.Split(r"\s+", "removed", is_regex=True, invert=True),
     hf.pre_tokenizers.Split(hf.Regex(r"\s+"), "removed", invert=True)),
    (P.Split("-", "merged_with_next"), hf.pre_tokenizers.Split("-", "merged_with_next")),
    *[(P.Punctuation(b), hf.pre_tokenizers.Punctuation(b)) for b in P.BEHAVIORS],
    (P.Sequence([P.WhitespaceSplit(), P.Digits(True)]),
     hf.pre_tokenizers.Sequence([hf.pre_tokenizers.WhitespaceSplit(), hf.pre_tokenizers.Digits(True)])),
]


def test_gpt2_pattern_pieces():
    pieces = [p for p, _ in P.Split(P.GPT2_PATTERN, is_regex=True).pre_tokenize_str("I'll pay 1234 $,  ok")]
    assert pieces == ["I", "'ll", " pay", " 1234", " $,", " ", " ok"]
    pieces = [p for p, _ in P.Split(P.GPT4_PATTERN, is_regex=True).pre_tokenize_str("I'LL pay 1234")]
    assert pieces == ["I", "'LL", " pay", " ", "123", "4"]


def test_stage_json_round_trips():
    for ours, _ in NORMALIZERS:
        assert N.normalizer_from_json(ours.to_json()) == ours
    for ours, _ in PRE_TOKENIZERS:
        assert P.pre_tokenizer_from_json(ours.to_json()) == ours
    with pytest.raises(SeqlabError, match=r"normalizer\.type: expected one of"):
        N.normalizer_from_json({"type": "Unicode"})
    with pytest.raises(SeqlabError, match=r"pre_tokenizer\.type: expected one of"):
        P.pre_tokenizer_from_json({"type": "UnicodeWords"})
    with pytest.raises(SeqlabError, match="expected JSON"):
        Tokenizer.from_str("{not json")


def test_word_level_vocabulary():
    tok = Tokenizer.word_level()
    corpus = ["b a b c", "a b d", "c c"]  # counts: b 3, c 3, a 2, d 1
    tok.train_from_iterator(corpus, WordLevelTrainer(min_frequency=2))
    vocab = tok.get_vocab()
    assert [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])] == [*SPECIAL_TOKENS, "b", "c", "a"]
    assert tok.encode("a d b").ids == [9, 1, 7]  # d is below min_frequency: <unk>
    tok.train_from_iterator(corpus, WordLevelTrainer(max_size=len(SPECIAL_TOKENS) + 1))
    assert tok.vocab_size == 8 and tok.token_to_id("b") == 7 and tok.token_to_id("c") is None
    assert tok.decode(tok.encode("b <bos> b").ids, skip_special_tokens=False) == "b <bos> b"


def test_character_level():
    tok = Tokenizer.character_level()
    tok.train_from_iterator(["hello\nworld"], WordLevelTrainer())
    encoding = tok.encode("low\n!")
    assert encoding.tokens == ["l", "o", "w", "\n", "<unk>"]
    assert encoding.offsets == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]
    assert tok.decode(tok.encode("hello\nworld").ids) == "hello\nworld"


def test_wordpiece_greedy_longest_match():
    vocab = {t: i for i, t in enumerate(["[UNK]", "un", "##aff", "##able", "##a", "##ff", "u", "##n"])}
    model = WordPiece(vocab, max_input_chars_per_word=12)
    assert [t for _, t, _, _ in model.tokenize("unaffable")] == ["un", "##aff", "##able"]
    assert [(t, s, e) for _, t, s, e in model.tokenize("unaffable")] == [("un", 0, 2), ("##aff", 2, 5),
                                                                           ("##able", 5, 9)]
    assert [t for _, t, _, _ in model.tokenize("unx")] == ["[UNK]"]  # one unknown part: the whole word
    assert [t for _, t, _, _ in model.tokenize("un" * 7)] == ["[UNK]"]  # longer than 12 characters


def test_template_pair_type_ids_and_truncation_padding():
    tok = Tokenizer.word_level()
    tok.train_from_iterator(["a b c d e f"], WordLevelTrainer())
    cls_id, sep_id = tok.token_to_id("<cls>"), tok.token_to_id("<sep>")
    tok.post_processor = TemplateProcessing("<cls> $A <sep>", "<cls> $A <sep> $B:1 <sep>:1",
                                            {"<cls>": cls_id, "<sep>": sep_id})
    encoding = tok.encode("a b", pair="c")
    assert encoding.tokens == ["<cls>", "a", "b", "<sep>", "c", "<sep>"]
    assert encoding.type_ids == [0, 0, 0, 0, 1, 1]
    assert encoding.special_tokens_mask == [1, 0, 0, 1, 0, 1]
    tok.enable_truncation(6)
    assert tok.encode("a b c d e f", pair="a b c").tokens == ["<cls>", "a", "b", "<sep>", "a", "<sep>"]
    tok.enable_padding(pad_token="<pad>", direction="left")
    batch = tok.encode_batch(["a", "a b c"])
    assert batch[0].ids[:2] == [0, 0] and batch[0].attention_mask == [0, 0, 1, 1, 1]
    assert [len(e) for e in batch] == [5, 5]


def test_encoding_pad_and_truncate():
    e = Encoding([1, 2, 3], ["a", "b", "c"], [(0, 1), (1, 2), (2, 3)])
    e.truncate(2, direction="left")
    assert e.ids == [2, 3] and e.offsets == [(1, 2), (2, 3)]
    e.pad(4, pad_id=0, pad_token="<pad>")
    assert e.ids == [2, 3, 0, 0] and e.attention_mask == [1, 1, 0, 0] and e.tokens[-1] == "<pad>"
    with pytest.raises(SeqlabError, match="one length"):
        Encoding([1], [], [])


def test_added_tokens_strip_and_single_word_like_tokenizers():
    vocab = {"<unk>": 0, "a": 1, "b": 2, "<mask>": 3, "<x>": 4}
    theirs = hf.Tokenizer(hf.models.WordLevel(vocab, unk_token="<unk>"))
    theirs.pre_tokenizer = hf.pre_tokenizers.WhitespaceSplit()
    theirs.add_special_tokens([hf.AddedToken("<mask>", lstrip=True), hf.AddedToken("<x>", single_word=True,
                                                                                   rstrip=True)])
    ours = Tokenizer.from_str(theirs.to_str())
    for text in ["a  <mask> b", "a<mask>b", "a <x> b", "a<x>b", "<x>  b", "a\t<mask>", "<mask><x>"]:
        a, b = ours.encode(text), theirs.encode(text)
        assert (a.ids, a.tokens, a.offsets) == (b.ids, b.tokens, [tuple(o) for o in b.offsets]), text

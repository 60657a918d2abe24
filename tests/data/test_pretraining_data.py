"""Pre-training data: documents and sentences, packing within the budget, the nsp/sop pairs, dynamic masks."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.data.batching import IGNORE_INDEX
from seqlab.data.documents import read_documents, split_sentences
from seqlab.data.pretraining import (
    IS_NEXT,
    NOT_NEXT,
    MaskedBatches,
    SentencePairs,
    collate_pretraining,
    cut_sentences,
    pack_sentences,
)
from seqlab.errors import SeqlabError

CLS, SEP, PAD, MASK = 2, 3, 0, 4


def test_sentences_end_at_stops_and_paragraphs_but_not_after_titles_and_initials():
    text = ("Mr. Woodhouse was fond of H. G. Wells. He said so!  \"Did he?\" she asked,\nsmiling.\n\n"
            "A new paragraph without a stop\n   \nDr. Grant came at 10. 20 minutes later he left.")
    assert split_sentences(text) == [
        "Mr. Woodhouse was fond of H. G. Wells.", "He said so!", "\"Did he?\" she asked, smiling.",
        "A new paragraph without a stop", "Dr. Grant came at 10.", "20 minutes later he left."]
    assert split_sentences("\n\n  \n") == []


def test_documents_of_a_folder_in_name_order_with_their_encoding(tmp_path):
    (tmp_path / "b.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (tmp_path / "a.txt").write_bytes("first\r\nfile".encode("latin-1"))
    (tmp_path / "notes.md").write_text("not a text file", encoding="utf-8")
    documents = read_documents(tmp_path, encoding="latin-1")
    assert [(d.name, d.text) for d in documents] == [("a.txt", "first\nfile"), ("b.txt", "café au lait")]
    with pytest.raises(SeqlabError, match=r"b.txt.*utf-8"):
        read_documents(tmp_path, encoding="utf-8")  # Latin-1 bytes are not UTF-8: the file is named
    with pytest.raises(SeqlabError, match=r"holds no \*\.txt file"):
        read_documents(_empty(tmp_path))
    with pytest.raises(SeqlabError, match=r"data\.corpus: expected names from"):
        read_documents(None, corpus=("wikipedia",))
    with pytest.raises(SeqlabError, match=r"data\.encoding"):
        read_documents(tmp_path, encoding="cp1252")


def _empty(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


def test_the_named_corpora_are_the_shared_files(data_dir):
    documents = read_documents(None, ("gutenberg", "timemachine"), root=data_dir)
    assert len(documents) == 18 and documents[0].name == "gutenberg/austen-emma.txt"
    assert documents[0].text.startswith("[Emma by Jane Austen 1816]")  # Latin-1, decoded
    assert documents[-1].name == "timemachine/timemachine.txt"


sentences_strategy = st.lists(st.lists(st.lists(st.integers(5, 50), min_size=0, max_size=12), max_size=15),
                              min_size=1, max_size=4)


@settings(max_examples=60, deadline=None)
@given(documents=sentences_strategy, budget=st.integers(2, 20), short=st.sampled_from([0.0, 0.3, 1.0]),
       seed=st.integers(0, 5))
def test_chunks_are_consecutive_sentences_of_one_document_within_the_budget(documents, budget, short, seed):
    documents = [cut_sentences(d, budget) for d in documents]
    chunks = pack_sentences(documents, budget, short_seq_prob=short, seed=seed)
    for document, sentences in enumerate(documents):
        mine = [c for c in chunks if c.document == document]
        covered = [i for c in mine for i in range(c.first, c.stop)]
        kept = [i for i, s in enumerate(sentences) if s]
        assert set(kept) <= set(covered) and covered == sorted(covered)  # in order, nothing lost, nothing twice
        for c in mine:
            assert 1 <= sum(len(s) for s in sentences[c.first:c.stop]) <= budget
    if short == 0.0:  # greedy: a chunk stops only where the next sentence would overflow the budget
        for c in chunks:
            sentences = documents[c.document]
            if c.stop < len(sentences):
                assert sum(len(s) for s in sentences[c.first:c.stop + 1]) > budget


def test_a_sentence_longer_than_the_budget_must_be_cut_first():
    assert cut_sentences([[1, 2, 3, 4, 5], [], [6]], 2) == [[1, 2], [3, 4], [5], [6]]
    with pytest.raises(SeqlabError, match="more than the budget 3"):
        pack_sentences([[[1, 2, 3, 4]]], budget=3)


def corpus(documents=3, sentences=40):
    """Sentences whose ids say where they come from: 100 * document + 10 + sentence, repeated 1-4 times."""
    return [[[100 * d + 10 + s] * (1 + s % 4) for s in range(sentences)] for d in range(documents)]


def test_single_segments_are_the_chunk_between_cls_and_sep():
    documents = corpus()
    data = SentencePairs(pack_sentences(documents, 12, 0.0), documents, CLS, SEP, "none")
    ids, types, label = data[0]
    chunk = data.chunks[0]
    body = [i for s in documents[chunk.document][chunk.first:chunk.stop] for i in s]
    assert ids.tolist() == [CLS, *body, SEP] and types.tolist() == [0] * len(ids) and label == IGNORE_INDEX


@pytest.mark.parametrize("task", ["nsp", "sop"])
def test_pairs_keep_or_break_the_order_and_are_redrawn_each_epoch(task):
    documents = corpus()
    data = SentencePairs(pack_sentences(documents, 13, 0.0, min_tokens=2), documents, CLS, SEP, task, seed=1)
    labels = []
    for index, chunk in enumerate(data.chunks):
        ids, types, label = data[index]
        labels.append(label)
        a_length = types.tolist().index(1) - 2  # [CLS] A [SEP] then B [SEP]
        a, b = ids[1:1 + a_length].tolist(), ids[2 + a_length:-1].tolist()
        assert ids[0] == CLS and ids[1 + a_length] == SEP and ids[-1] == SEP and a and b
        body = [i for s in documents[chunk.document][chunk.first:chunk.stop] for i in s]
        if label == 0:  # in order: A then B is the chunk
            assert a + b == body
        elif task == "sop":  # swapped: B then A is the chunk
            assert b + a == body
        else:  # NotNext: A is the chunk's start, B as long as the part it replaces, from another document
            assert a == body[:len(a)] and len(b) == len(body) - len(a)
            other = b[0] // 100
            assert other != chunk.document and all(i // 100 == other for i in b)
            stream, bounds = data.streams[other].tolist(), data.bounds[other]
            starts = [i for i in range(len(stream) - len(b) + 1) if stream[i:i + len(b)] == b]
            assert any(i in bounds or i == len(stream) - len(b) for i in starts)  # from a sentence start
    share = sum(labels) / len(labels)
    assert 0.3 < share < 0.7, share  # about half of the pairs are NotNext / swapped
    assert set(labels) == {IS_NEXT, NOT_NEXT}
    first = [data[i][0].tolist() for i in range(len(data))]
    data.set_epoch(1)
    assert [data[i][0].tolist() for i in range(len(data))] != first  # new cuts and coins
    data.set_epoch(0)
    assert [data[i][0].tolist() for i in range(len(data))] == first  # (seed, epoch) alone decide


def test_masked_batches_draw_new_masks_each_epoch_and_the_same_ones_again():
    documents = corpus(2, 60)
    data = SentencePairs(pack_sentences(documents, 14, 0.2), documents, CLS, SEP, "none")
    loader = torch.utils.data.DataLoader(data, batch_size=8, collate_fn=lambda e: collate_pretraining(e, PAD))
    batches = MaskedBatches(loader, vocab_size=400, mask_id=MASK, special_ids=(PAD, CLS, SEP, MASK), seed=3)

    def labels():
        return [b.labels for b in batches]

    first = labels()
    assert all(torch.equal(x, y) for x, y in zip(first, labels()))  # validation: the same masks every time
    batches.set_epoch(1)
    assert not all(torch.equal(x, y) for x, y in zip(first, labels()))
    batches.set_epoch(0)
    assert all(torch.equal(x, y) for x, y in zip(first, labels()))
    chosen = maskable = 0
    for batch in batches:
        original = torch.where(batch.labels != IGNORE_INDEX, batch.labels, batch.inputs)  # a random id may be [SEP]
        special = (original == CLS) | (original == SEP) | batch.is_pad
        assert (batch.labels[special] == IGNORE_INDEX).all()  # specials and padding are never chosen
        assert (batch.inputs[batch.is_pad] == PAD).all() and batch.pair_labels is None
        chosen += int((batch.labels != IGNORE_INDEX).sum())
        maskable += int((~special).sum())
    assert 0.11 < chosen / maskable < 0.19  # 15% of about 500 maskable tokens

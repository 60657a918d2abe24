"""Readers of users' files: BOM, Windows line endings, decode errors and bad lines named by file and line."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqlab.data.readers import (
    TaggedSentence,
    format_conll,
    normalize_french_spaces,
    parse_conll,
    read_conll_file,
    read_csv_rows,
    read_labelled_file,
    read_lines,
    read_parallel_file,
    read_polarity_folder,
)
from seqlab.errors import SeqlabError

BOM = b"\xef\xbb\xbf"

# text a user might type: anything but line breaks, TABs, NUL and lone surrogates
_text = st.text(st.characters(blacklist_categories=["Cs", "Cc", "Zl", "Zp"]), max_size=12)
_style = st.fixed_dictionaries({"bom": st.booleans(), "newline": st.sampled_from(["\n", "\r\n"])})


def _save(folder: Path, text: str, style: dict, suffix: str = ".txt") -> Path:
    """``text`` saved as an editor would: UTF-8, the chosen line endings, a BOM if asked (each example overwrites)."""
    path = folder / f"user file{suffix}"
    data = text.replace("\n", style["newline"]).encode("utf-8")
    path.write_bytes((BOM if style["bom"] else b"") + data)
    return path


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_style, st.lists(st.tuples(_text.filter(str.strip), _text), min_size=1, max_size=6))
def test_parallel_files_round_trip_whatever_the_bom_and_line_endings(tmp_path, style, pairs):
    pairs = [(source.replace("\t", " "), target.replace("\t", " ")) for source, target in pairs]
    path = _save(tmp_path, "".join(f"{s}\t{t}\tCC-BY 2.0 (France) Attribution: tatoeba.org\n" for s, t in pairs), style)
    expected = [(normalize_french_spaces(s), normalize_french_spaces(t)) for s, t in pairs]
    assert read_parallel_file(path) == expected
    assert read_parallel_file(path, max_pairs=1) == expected[:1]


_token = _text.map(lambda t: t.replace("\t", "")).filter(lambda t: t.strip() and t.split()[0] != "-DOCSTART-")
_sentence = st.integers(1, 5).flatmap(lambda n: st.tuples(
    st.lists(_token, min_size=n, max_size=n), st.lists(st.sampled_from(["O", "B-person", "I-person"]),
                                                       min_size=n, max_size=n)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_style, st.lists(_sentence, max_size=5))
def test_conll_files_round_trip_whatever_the_bom_and_line_endings(tmp_path, style, sentences):
    sentences = [TaggedSentence(list(tokens), list(tags)) for tokens, tags in sentences]
    assert read_conll_file(_save(tmp_path, format_conll(sentences), style)) == sentences


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_style, st.lists(st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\x00"),
                                max_size=8), min_size=2, max_size=4, unique_by=str.strip)
       .filter(lambda names: all(name.strip() for name in names)),
       st.lists(st.lists(st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\x00"),
                                 max_size=8), min_size=1, max_size=4), max_size=6))
def test_csv_rows_round_trip_as_excel_writes_them(tmp_path, style, header, rows):
    """Fields with commas, quotes and line breaks, saved with a BOM and CRLF, come back as written."""
    rows = [row for row in rows if any(field.strip() for field in row)]  # an all-blank record is skipped
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    got_header, got_rows = read_csv_rows(_save(tmp_path, out.getvalue(), style, ".csv"))
    assert got_header == [name.strip() for name in header]
    assert [row for _, row in got_rows] == rows
    # each record starts on the line after the previous one ends (a quoted line break adds a line)
    starts, line = [], 1 + sum(name.count("\n") for name in header)
    for row in rows:
        starts.append(line + 1)
        line += 1 + sum(field.count("\n") for field in row)
    assert [start for start, _ in got_rows] == starts


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=60), st.sampled_from([".csv", ".tsv", ".jsonl", ".txt", ".conll"]))
def test_any_bytes_parse_or_give_one_line_naming_the_file_and_line(tmp_path, raw, suffix):
    path = tmp_path / f"data{suffix}"
    path.write_bytes(raw)
    try:
        if suffix == ".txt":
            read_parallel_file(path)
        elif suffix == ".conll":
            read_conll_file(path)
        else:
            read_labelled_file(path)
    except SeqlabError as error:
        message = str(error)
        assert "\n" not in message and message.startswith(str(path))
        assert re.search(r"line \d+", message) or "empty file" in message, message


def test_a_decode_error_names_the_file_line_and_the_encoding_option(tmp_path):
    path = tmp_path / "reviews.tsv"
    path.write_bytes(b"text\tlabel\r\ngood\tpos\r\ncaf\xe9\tpos\r\n")
    with pytest.raises(SeqlabError, match=r"reviews\.tsv: not valid utf-8 \(.* at byte 25, line 3\); "
                                          r"pass the file's encoding, e.g. --encoding latin-1"):
        read_labelled_file(path)
    assert read_labelled_file(path, encoding="latin-1") == [("good", "pos"), ("café", "pos")]


def test_labelled_csv_tsv_and_jsonl_from_excel_and_friends(tmp_path):
    csv_path = tmp_path / "reviews.csv"
    csv_path.write_bytes(BOM + b'text,label\r\n"great, really",pos\r\n"two\r\nlines",neg\r\n\r\n')
    assert read_labelled_file(csv_path) == [("great, really", "pos"), ("two\nlines", "neg")]
    jsonl = tmp_path / "reviews.jsonl"
    jsonl.write_bytes(BOM + b'{"text": "fine", "label": 1}\r\n\r\n{"text": "bad", "label": 0}\r\n')
    assert read_labelled_file(jsonl) == [("fine", "1"), ("bad", "0")]
    jsonl.write_text('{"text": "fine", "label": 1}\n{"text": "no label"}\n')
    with pytest.raises(SeqlabError, match=r"reviews\.jsonl: line 2: expected a JSON object with key 'label'"):
        read_labelled_file(jsonl)
    jsonl.write_text('{"text": "fine", "label": 1}\n{"text": \n')
    with pytest.raises(SeqlabError, match=r"reviews\.jsonl: line 2: not valid JSON"):
        read_labelled_file(jsonl)
    csv_path.write_text("review,label\nfine,pos\n")
    with pytest.raises(SeqlabError, match=r"reviews\.csv: line 1: expected a column named 'text'"):
        read_labelled_file(csv_path)
    csv_path.write_text("text,label\nfine,pos\nno label\n")
    with pytest.raises(SeqlabError, match=r"reviews\.csv: line 3: expected the fields 'text' and 'label'"):
        read_labelled_file(csv_path)
    with pytest.raises(SeqlabError, match=r"expected a \.csv, \.tsv, \.jsonl file, got '\.xlsx'"):
        read_labelled_file(tmp_path / "reviews.xlsx")


def test_conll_reads_space_separated_columns_and_skips_docstart(tmp_path):
    path = tmp_path / "eng.train"
    path.write_bytes(b"-DOCSTART- -X- -X- O\r\n\r\nEU NNP B-NP B-ORG\r\nrejects VBZ B-VP O\r\n\r\n"
                     b"Peter NNP B-NP B-PER\r\n")
    assert read_conll_file(path) == [TaggedSentence(["EU", "rejects"], ["B-ORG", "O"]),
                                     TaggedSentence(["Peter"], ["B-PER"])]
    path.write_text("a\tO\nb\tB-x\n\t\nc\tO\n\n\n  \nd\tO\nlonely\n")
    with pytest.raises(SeqlabError, match=r"eng\.train: line 9: expected 'token<TAB>tag', got 'lonely'"):
        read_conll_file(path)
    assert parse_conll(["a\tO", "b\tB-x", "\t", "\tO"]) == [TaggedSentence(["a", "b"], ["O", "B-x"]),
                                                            TaggedSentence([""], ["O"])]


def test_lines_split_only_at_line_endings(tmp_path):
    path = tmp_path / "odd.txt"
    path.write_bytes(BOM + "one\u2028still one\x0cand\r\ntwo\rthree".encode())
    assert read_lines(path) == ["one\u2028still one\x0cand", "two", "three"]


def test_the_polarity_folder(tmp_path):
    (tmp_path / "rt-polarity.neg").write_bytes(BOM + b"dull .\r\n\r\n")
    with pytest.raises(SeqlabError, match=r"rt-polarity\.pos is missing"):
        read_polarity_folder(tmp_path)
    (tmp_path / "rt-polarity.pos").write_text("fun .\nwarm .\n")
    assert read_polarity_folder(tmp_path) == (["dull .", "fun .", "warm ."], [0, 1, 1])


def test_json_lines_round_trip(tmp_path):
    records = [{"text": "a \u00e9 \"quoted\"", "label": "pos"}, {"text": "", "label": 3}]
    path = tmp_path / "x.jsonl"
    path.write_bytes(BOM + "\r\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode())
    assert read_labelled_file(path) == [('a \u00e9 "quoted"', "pos"), ("", "3")]

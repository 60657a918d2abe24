"""``download`` and ``seqlab data get`` against a web server on 127.0.0.1: files, zip members, bad sums, no server."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import zipfile

import pytest

from seqlab.data import registry
from seqlab.data.download import download
from seqlab.data.registry import Dataset, RemoteFile
from seqlab.errors import SeqlabError

ALPHA, BETA, GAMMA = b"alpha\r\n", "b\u00e9ta\n".encode(), b"gamma\n" * 1000


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for name, data in members.items():
            zipped.writestr(name, data)
    return buffer.getvalue()


def _toy(url: str, alpha_sha: str | None = None, member_b: str = "pack/b.txt") -> Dataset:
    """A dataset of one raw file and two members of one zip archive, served by the local server."""
    return Dataset(
        name="toy", description="a toy", task="tests", licence="CC0", source="tests", citation="none",
        files=(RemoteFile("toy/a.txt", f"{url}/raw/a.txt", alpha_sha or _sha(ALPHA), len(ALPHA)),
               RemoteFile("toy/b.txt", f"{url}/pack.zip", _sha(BETA), len(BETA), member=member_b),
               RemoteFile("toy/sub/c.txt", f"{url}/pack.zip", _sha(GAMMA), len(GAMMA), member="pack/c.txt")),
    )


@pytest.fixture
def served(local_server):
    local_server.files = {"/raw/a.txt": ALPHA, "/pack.zip": _zip({"pack/b.txt": BETA, "pack/c.txt": GAMMA,
                                                                   "pack/unused.txt": b"x"})}
    return local_server


def _leftovers(folder):
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))


def test_download_fetches_files_and_zip_members_then_skips_what_is_verified(served, tmp_path):
    dest = tmp_path / "data"
    paths = download(_toy(served.url), dest)
    assert paths == [dest / "toy" / "a.txt", dest / "toy" / "b.txt", dest / "toy" / "sub" / "c.txt"]
    assert [path.read_bytes() for path in paths] == [ALPHA, BETA, GAMMA]  # byte for byte: no newline translation
    umask = os.umask(0)
    os.umask(umask)
    assert {path.stat().st_mode & 0o777 for path in paths} == {0o666 & ~umask}  # as readable as any new file
    assert not (dest / "toy" / "unused.txt").exists() and not (dest / "toy" / "pack").exists()
    assert served.requests == {"/raw/a.txt": 1, "/pack.zip": 1}  # one fetch serves both members
    assert _leftovers(dest) == []  # the staging folder is gone

    (dest / "toy" / "a.txt").write_bytes(b"tampered")
    assert download(_toy(served.url), dest) == paths
    assert (dest / "toy" / "a.txt").read_bytes() == ALPHA  # a file with the wrong sum is fetched again
    assert served.requests == {"/raw/a.txt": 2, "/pack.zip": 1}  # the verified members were not


def test_a_checksum_mismatch_keeps_nothing(served, tmp_path):
    dest = tmp_path / "data"
    with pytest.raises(SeqlabError, match=r"does not match the pinned sha256:0{64}; nothing was kept") as raw:
        download(_toy(served.url, alpha_sha="0" * 64), dest)
    assert "\n" not in str(raw.value) and f"{served.url}/raw/a.txt" in str(raw.value)
    assert not (dest / "toy").exists() and _leftovers(dest) == []

    served.files["/pack.zip"] = _zip({"pack/b.txt": b"not beta", "pack/c.txt": GAMMA})
    with pytest.raises(SeqlabError, match=rf"toy/b.txt: the file from .*pack.zip has sha256 {_sha(b'not beta')}, "
                                          rf"expected the pinned {_sha(BETA)}; nothing was kept"):
        download(_toy(served.url), dest)
    assert not (dest / "toy" / "b.txt").exists() and _leftovers(dest) == []
    assert (dest / "toy" / "a.txt").read_bytes() == ALPHA  # what was verified before the bad member stays

    served.files["/pack.zip"] = b"<html>a login page, not a zip</html>"
    with pytest.raises(SeqlabError, match=r"toy: the download from .*pack.zip is not a zip archive; nothing was kept"):
        download(_toy(served.url), dest)
    assert sorted(path.name for path in (dest / "toy").iterdir()) == ["a.txt"] and _leftovers(dest) == []


def test_a_missing_zip_member_is_named(served, tmp_path):
    with pytest.raises(SeqlabError, match=r"the archive .*pack.zip has no member 'pack/absent.txt'"):
        download(_toy(served.url, member_b="pack/absent.txt"), tmp_path / "data")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_source_is_one_line_with_the_path_and_sum_to_place_by_hand(local_server, tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}"
    dest = tmp_path / "data"
    with pytest.raises(SeqlabError) as raised:
        download(_toy(url), dest, timeout=5)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"could not download {url}/raw/a.txt (")
    assert f"save that file as {dest / 'toy' / 'a.txt'} and check its sha256 is {_sha(ALPHA)}" in message
    assert "`seqlab data info toy` lists the other 2 file(s)" in message
    assert not dest.exists() or _leftovers(dest) == []


def test_a_missing_member_archive_on_the_server_says_how_to_unzip_by_hand(served, tmp_path):
    del served.files["/pack.zip"]
    dest = tmp_path / "data"
    with pytest.raises(SeqlabError) as raised:
        download(_toy(served.url), dest)
    message = str(raised.value)
    assert f"could not download {served.url}/pack.zip (HTTP 404" in message
    assert f"take pack/b.txt from that zip, save it as {dest / 'toy' / 'b.txt'}" in message
    assert (dest / "toy" / "a.txt").read_bytes() == ALPHA


def test_download_goes_to_the_data_folder_then_the_user_folder(served, tmp_path, monkeypatch, places):
    download(_toy(served.url))
    assert (places / "toy" / "a.txt").read_bytes() == ALPHA
    monkeypatch.setenv("SEQLAB_DATA_DIR", str(tmp_path / "shared"))
    download(_toy(served.url))
    assert (tmp_path / "shared" / "toy" / "sub" / "c.txt").read_bytes() == GAMMA


def test_cli_get_fetches_into_dest_and_says_where_and_how_to_use_it(served, tmp_path, monkeypatch, seqlab_cli, places):
    monkeypatch.setitem(registry.DATASETS, "toy", _toy(served.url))
    code, out, err = seqlab_cli("data", "get", "toy", "--dest", str(tmp_path / "mine"))
    assert code == 0, err
    assert f"toy: 3 file(s), 6.0 kB, sha256 verified, in {tmp_path / 'mine' / 'toy'}" in out
    assert f"export SEQLAB_DATA_DIR={tmp_path / 'mine'}" in out
    assert (tmp_path / "mine" / "toy" / "b.txt").read_bytes() == BETA

    code, out, err = seqlab_cli("data", "get", "toy")  # default: the user folder, which seqlab searches
    assert code == 0, err
    assert f"in {places / 'toy'}" in out and "export SEQLAB_DATA_DIR" not in out

    code, out, err = seqlab_cli("data", "ls")
    assert code == 0, err
    assert f"user folder {places}" in out  # the table now finds toy in the user folder


def test_cli_get_offline_and_unknown_names_are_one_line_and_exit_code_2(monkeypatch, seqlab_cli, places):
    monkeypatch.setitem(registry.DATASETS, "toy", _toy(f"http://127.0.0.1:{_closed_port()}"))
    code, _, err = seqlab_cli("data", "get", "toy")
    unwrapped = " ".join(err.split())  # rich wraps long lines at the console width
    assert code == 2 and "Traceback" not in err
    assert "could not download" in unwrapped and str(places / "toy" / "a.txt") in unwrapped.replace(" ", "")
    code, _, err = seqlab_cli("data", "get", "toy", "not-a-dataset")
    assert code == 2 and "got 'not-a-dataset'" in " ".join(err.split())
    assert not (places / "toy").exists()  # every name is checked before anything is fetched

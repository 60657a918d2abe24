"""Where the bptt kernels are built, how concurrent first uses share one build, what is said about it.

Compiling takes about a minute, so these tests put a stand-in in place of the compiler: it copies
this environment's real library into the build folder (or fails, as a missing compiler would).
What is checked is ``seqlab.nn.bptt.extension`` around it: the folder, the lock, the marker, the
messages, and the fallback of ``seqlab.nn.bptt._kernels`` when there is no build.
"""

import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

import seqlab
from seqlab.nn.bptt import _kernels, build, extension

SRC = str(Path(seqlab.__file__).parents[1])


def real_library() -> Path:
    folder = extension.build_folder()
    if not extension.is_built(folder):
        pytest.skip("the bptt kernels are not built in this environment (no C++ compiler?)")
    return folder / json.loads((folder / extension.MARKER).read_text())["library"]


def test_the_build_folder_belongs_to_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("TORCH_EXTENSIONS_DIR", raising=False)
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "env"))
    assert extension.cache_root() == tmp_path / "env" / "var" / "cache" / "seqlab"
    assert extension.build_folder().parent == extension.cache_root()
    assert extension.build_folder().name == f"seqlab_bptt_{extension.digest()}"

    a_file = tmp_path / "not-a-folder"  # an environment the user cannot write to
    a_file.write_text("")
    monkeypatch.setattr(sys, "prefix", str(a_file))
    monkeypatch.setattr(Path, "home", lambda: tmp_path / "home")
    root = extension.cache_root()
    assert root.parent == tmp_path / "home" / ".cache" / "seqlab" and len(root.name) == 12

    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path / "chosen"))
    assert extension.cache_root() == tmp_path / "chosen"


def test_the_digest_follows_the_sources_the_flags_and_torch(monkeypatch):
    first = extension.digest()
    assert extension.digest() == first  # stable
    monkeypatch.setattr(torch, "__version__", "0.0.1")
    assert extension.digest() != first
    monkeypatch.undo()
    monkeypatch.setattr(extension, "compile_flags", lambda: ["-O0"])
    assert extension.digest() != first


def fake_compiler(monkeypatch, library: Path, calls: list):
    """Replace the compilation: record the call, put the real library where the build would write it."""
    def compile_(folder: Path) -> Path:
        calls.append(folder)
        shutil.copy(library, folder / f"{folder.name}.so")
        return folder / f"{folder.name}.so"

    monkeypatch.setattr(extension, "_compile", compile_)
    monkeypatch.setattr(extension, "loaded", lambda: False)  # this process has the operators already
    loads = []
    monkeypatch.setattr(torch.ops, "load_library", loads.append)
    return loads


def test_a_first_use_build_says_so_once_and_leaves_a_marker(monkeypatch, tmp_path, caplog):
    library = real_library()
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
    calls = []
    loads = fake_compiler(monkeypatch, library, calls)
    with caplog.at_level(logging.WARNING, logger="seqlab.nn.bptt.extension"):
        assert extension.load(build=True)
        assert extension.load(build=True)  # the second use finds the build
    folder = extension.build_folder()
    assert calls == [folder] and extension.is_built(folder)
    assert [Path(p) for p in loads] == [folder / f"{folder.name}.so"]  # the second use loads the marker's library
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "about a minute" in warnings[0].getMessage()
    assert "python -m seqlab.nn.bptt.build" in warnings[0].getMessage()


def test_an_interrupted_build_is_started_over(monkeypatch, tmp_path):
    library = real_library()
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
    folder = extension.build_folder()
    folder.mkdir(parents=True)
    (folder / "lock").write_text("")  # torch's FileBaton of a killed build: it would wait on this forever
    (folder / f"{folder.name}.so").write_bytes(b"half a library")
    calls = []
    fake_compiler(monkeypatch, library, calls)
    assert not extension.load(build=False)  # no marker: not a build to load
    assert extension.load(build=True)
    assert calls == [folder] and not (folder / "lock").exists()
    assert (folder / f"{folder.name}.so").read_bytes() == library.read_bytes()


def test_concurrent_first_uses_share_one_build(tmp_path):
    """Two processes need the kernels at once: one builds, the other waits for it, both load the result."""
    library = real_library()
    script = textwrap.dedent(f"""
        import shutil, sys, time
        sys.path.insert(0, {SRC!r})
        from pathlib import Path
        from seqlab.nn.bptt import extension

        def compile_(folder):
            with open({str(tmp_path / "compilations")!r}, "a") as log:
                log.write("one\\n")
            time.sleep(2)  # long enough for the other process to find the build under way
            target = folder / f"{{folder.name}}.so"
            shutil.copy({str(library)!r}, target)
            extension.torch.ops.load_library(str(target))  # as torch's own build does
            return target

        extension._compile = compile_
        print(extension.load(build=True) and extension.loaded())
    """)
    env = dict(os.environ, TORCH_EXTENSIONS_DIR=str(tmp_path / "cache"))
    processes = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in processes]
    for p, (out, err) in zip(processes, outputs):
        assert p.returncode == 0, err
        assert out.strip() == "True"
    assert (tmp_path / "compilations").read_text().splitlines() == ["one"]


def test_without_a_compiler_the_engine_falls_back_with_one_warning(monkeypatch, caplog):
    def no_compiler(build=True, announce=None):
        raise RuntimeError("Error building extension 'seqlab_bptt'\nc++: command not found")

    monkeypatch.setattr(extension, "load", no_compiler)
    with caplog.at_level(logging.WARNING, logger="seqlab.nn.bptt._kernels"):
        assert _kernels._load() is False
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(messages) == 1
    assert "RuntimeError: c++: command not found" in messages[0] and "pure-PyTorch" in messages[0]


def test_seqlab_bptt_compile_0_skips_the_build(monkeypatch, caplog):
    monkeypatch.setenv("SEQLAB_BPTT_COMPILE", "0")
    monkeypatch.setattr(extension, "load", lambda **kw: pytest.fail("no build should be attempted"))
    with caplog.at_level(logging.WARNING, logger="seqlab.nn.bptt._kernels"):
        assert _kernels._load() is False
    assert "SEQLAB_BPTT_COMPILE=0" in caplog.text


def test_the_fallback_covers_what_the_kernels_do_not():
    assert _kernels.kernels(torch.zeros(1, dtype=torch.float16)).compiled is False
    assert _kernels.kernels(torch.zeros(1, dtype=torch.bfloat16)).compiled is False


def test_the_build_command_prints_one_line(monkeypatch, tmp_path, capsys):
    library = real_library()
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
    calls = []
    fake_compiler(monkeypatch, library, calls)
    assert build.main() == 0
    first = capsys.readouterr().out.strip().splitlines()
    assert len(first) == 1
    assert first[0].startswith("building seqlab's BPTT kernels (about a minute, once per environment)... done in ")
    assert build.main() == 0  # already built
    assert capsys.readouterr().out.strip() == f"seqlab's BPTT kernels are built ({extension.build_folder()})"

    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path / "elsewhere"))

    def no_compiler(folder):
        raise RuntimeError("Error building extension\nc++: command not found")

    monkeypatch.setattr(extension, "_compile", no_compiler)
    assert build.main() == 1
    out = capsys.readouterr().out
    assert "failed: RuntimeError: c++: command not found" in out and "pure-PyTorch" in out


def test_another_extension_builds_through_the_same_folder_lock_and_marker(monkeypatch, tmp_path, capsys):
    """What seqlab.embeddings reuses: its own key and compile step, the bptt kernels' folder rules and messages."""
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
    source = "// the embedding trainers' loops"
    key = extension.environment_digest([source.encode()], extension.simd_flags())
    assert key != extension.environment_digest([b"// other loops"], extension.simd_flags())
    folder = extension.cache_root() / f"seqlab_embeddings_{key}"
    built, announced = [], []

    def compile_(where: Path) -> Path:
        built.append(where)
        (where / "lib.so").write_bytes(b"")
        return where / "lib.so"

    monkeypatch.setattr(torch.ops, "load_library", lambda path: None)
    assert not extension.build_and_load(folder, compile_, build=False)
    assert extension.build_and_load(folder, compile_, announce=announced.append,
                                    what="the embedding trainers' loops", command="python -m seqlab.embeddings.build")
    assert extension.build_and_load(folder, compile_)  # built: loaded, not compiled again
    assert built == [folder] and json.loads((folder / extension.MARKER).read_text())["library"] == "lib.so"
    assert len(announced) == 1 and "the embedding trainers' loops" in announced[0]
    assert "python -m seqlab.embeddings.build" in announced[0]

    assert build.report("the embedding trainers' loops", folder, lambda: pytest.fail("built already")) == 0
    assert capsys.readouterr().out.strip() == f"the embedding trainers' loops are built ({folder})"


def test_the_flags_other_extensions_import_keep_their_name():
    assert _kernels._simd_flags() == extension.simd_flags()  # seqlab.embeddings._kernels imports _simd_flags
    assert extension.compile_flags()[: 1 + len(extension.simd_flags())] == ["-O3", *extension.simd_flags()]

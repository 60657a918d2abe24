"""`seqlab attention --model DIR` and `seqlab generate --model DIR` on tiny saved checkpoints; bad folders exit 2."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from seqlab.cli.app import app, main
from seqlab.models.huggingface import load_pretrained


def test_attention_command_writes_a_figure_per_layer(hf_folder, tmp_path):
    result = CliRunner().invoke(app, ["attention", "the cat sat on the mat .", "--model", str(hf_folder("bert")),
                                      "--out", str(tmp_path / "maps")])
    assert result.exit_code == 0, result.output
    assert "BertModel, 2 layers x 2 heads, 9 tokens: [CLS] the cat sat on the mat . [SEP]" in result.output
    assert sorted(p.name for p in (tmp_path / "maps").iterdir()) == ["layer-0.png", "layer-1.png", "layers.png"]
    assert result.output.count("wrote ") == 3 and str(tmp_path / "maps" / "layers.png") in result.output
    assert (tmp_path / "maps" / "layers.png").read_bytes()[:4] == b"\x89PNG"
    result = CliRunner().invoke(app, ["attention", "the dog ran", "--model", str(hf_folder("t5")), "--layer", "-1",
                                      "--out", str(tmp_path / "last")])
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "last").iterdir()] == ["layer-1.png"]


def test_generate_command_continues_a_prompt_as_transformers_does(transformers, hf_folder, hf_reference):
    folder = hf_folder("gpt2")
    result = CliRunner().invoke(app, ["generate", "--model", str(folder), "--prompt", "the cat sat", "--length", "6",
                                      "--temperature", "0"])
    assert result.exit_code == 0, result.output
    pretrained = load_pretrained(folder)
    prompt = torch.tensor([pretrained.tokenizer.encode("the cat sat").ids])
    ids = hf_reference("gpt2").generate(prompt, attention_mask=torch.ones_like(prompt), do_sample=False,
                                        max_new_tokens=6, eos_token_id=1, pad_token_id=1)
    expected = pretrained.tokenizer.decode(ids[0].tolist())  # the word-level tokenizer joins tokens with spaces
    assert len(expected.split()) == 9
    assert result.output.strip() == expected.strip() == pretrained.generate("the cat sat", 6).strip()
    # sampling is seeded: the same seed gives the same text
    sampled = [CliRunner().invoke(app, ["generate", "--model", str(folder), "--prompt", "the cat", "--length", "8",
                                        "--seed", str(seed)]).output for seed in (1, 1, 2, 3)]
    assert sampled[0] == sampled[1] and len(set(sampled)) > 1


@pytest.mark.parametrize("args", [
    ["attention", "the cat", "--model", "{missing}"],
    ["generate", "--model", "{missing}", "--prompt", "the cat"],
    ["generate", "--model", "{bert}", "--prompt", "the cat"],
    ["generate", "{missing}", "--model", "{bert}"],
    ["attention", "the cat", "--model", "{bert}", "--layer", "5"],
])
def test_bad_input_exits_2_with_one_line_and_no_traceback(hf_folder, tmp_path, capsys, args):
    args = [a.format(missing=tmp_path / "missing", bert=hf_folder("bert")) for a in args]
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--out", str(tmp_path / "out")] if args[0] == "attention" else args)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    # one error line and one hint (rich wraps them at the terminal's width)
    error, hint = err.split("\nhint: ")
    assert error.startswith("error: ") and err.count("error: ") == 1 and "\n" not in hint.strip(), err
    assert "Traceback" not in err

"""lsra-translate on stdin: fairseq-interactive's lines, and a session that survives awkward input."""
import subprocess
import sys
from pathlib import Path

from ..conftest import REPO

BIN = Path(sys.executable).parent


def run(tool, tiny, lines, *flags):
    result = subprocess.run([str(BIN / tool), str(tiny.data), "--path", str(tiny.checkpoint), "--user-dir",
                             str(REPO / "user_dir"), "-s", "de", "-t", "en", "--cpu", *flags],
                            input="".join(line + "\n" for line in lines), capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def lines_of(output, prefix):
    return [line.split("\t") for line in output.splitlines() if line.startswith(prefix)]


def test_hypotheses_equal_fairseq_interactive(tiny):
    lines = tiny.val_de[20:26]
    flags = ["--beam", "4", "--nbest", "2", "--batch-size", "3", "--buffer-size", "6"]
    fast = run("lsra-translate", tiny, lines, *flags, "--fast-backend", "eager").stdout
    reference = run("fairseq-interactive", tiny, lines, *flags).stdout
    for prefix in ("S-", "H-", "D-"):
        got, expected = lines_of(fast, prefix), lines_of(reference, prefix)
        assert len(got) == len(expected) == len(lines) * (1 if prefix == "S-" else 2)
        for g, e in zip(got, expected):
            assert g[0] == e[0] and g[-1] == e[-1]  # id and text
            if prefix != "S-":
                assert abs(float(g[1]) - float(e[1])) < 1e-4


def test_empty_long_and_unknown_input_keep_the_session_going(tiny):
    too_long = " ".join(["ein mann"] * 15)  # 31 tokens with eos, over the 20 positions below
    lines = [tiny.val_de[0], "", too_long, "ein ☃ mann xyzzyq lädt !", tiny.val_de[1]]
    result = run("lsra-translate", tiny, lines, "--beam", "2", "--fast-backend", "eager",
                 "--model-overrides", "{'max_source_positions': 20}")
    hypos = lines_of(result.stdout, "H-")
    assert [h[0] for h in hypos] == [f"H-{i}" for i in range(5)]
    assert "input 2 has 31 tokens, the model takes at most 20; truncated" in result.stderr
    sources = dict((s[0], s[1]) for s in lines_of(result.stdout, "S-"))
    src_dict = tiny.task.source_dictionary
    words = ["<unk>" if src_dict.index(w) == src_dict.unk() else w for w in lines[3].split()]
    assert sources["S-3"] == " ".join(words) and words[1] == words[3] == "<unk>"
    assert len(sources["S-2"].split()) == 19
    plain = run("lsra-translate", tiny, lines, "--beam", "2", "--plain", "--skip-invalid-size-inputs-valid-test",
                "--fast-backend", "eager", "--model-overrides", "{'max_source_positions': 20}")
    assert "skipped" in plain.stderr
    assert plain.stdout.splitlines() == [h[2] for i, h in enumerate(hypos) if i != 2]


def test_unsupported_option_is_a_clear_error(tiny):
    result = subprocess.run([str(BIN / "lsra-translate"), str(tiny.data), "--path", str(tiny.checkpoint),
                             "--user-dir", str(REPO / "user_dir"), "-s", "de", "-t", "en", "--cpu", "--sampling",
                             "--fast-backend", "eager"],
                            input="ein mann\n", capture_output=True, text=True, timeout=600)
    assert result.returncode != 0
    assert "does not support --sampling" in result.stderr

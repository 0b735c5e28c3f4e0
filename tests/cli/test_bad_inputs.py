"""Bad input wherever a user can give it: each case asserts an early message that names the problem
and the fix, raised as one clear error (no traceback out of fairseq's depths), with nothing lost.

Covered: branch specs, kernel lists and dims; unknown arch and a missing plugin (our console
scripts, the recipes' lsra-train, the check when a checkpoint is read); missing, empty, truncated
and misaligned data files; corrupt, truncated and foreign checkpoints; an official checkpoint
given where ours is expected and the reverse; a checkpoint that needs unsafe unpickling (refused
unless the user opts in); empty, over-long and unknown-word lines in fairseq-interactive.
"""
import datetime
import re
import shutil
import subprocess

import pytest
import torch
from fairseq import checkpoint_utils, options
from fairseq.dataclass.utils import convert_namespace_to_omegaconf

from lsra_fairseq.builder import DictionaryTask, build_registered_model
from lsra_fairseq.checkpoint_compat import CheckpointError
from lsra_fairseq.commands import USER_DIR, fairseq_command
from lsra_fairseq.conversion.official import main as import_official_main
from lsra_fairseq.modules.branch_spec import BranchSpecError
from lsra_fairseq.preprocessing.pipeline import main as prepare_main
from lsra_fairseq.profiling.cli import main as profile_main
from lsra_fairseq.training import main as lsra_train

from ..conftest import REPO
from ..conversion.test_official_import import reference_outputs, save_official
from ..tiny_runs import LABEL_SMOOTHING, TINY_LSRA, TRAINING, translation_data

pytestmark = pytest.mark.usefixtures("one_thread")
D = 32  # the tiny models' embed dim
SMALL = dict(encoder_layers=2, decoder_layers=2, encoder_embed_dim=D, decoder_embed_dim=D,
             encoder_ffn_embed_dim=D, decoder_ffn_embed_dim=D, encoder_kernel_size_list="3,5",
             decoder_kernel_size_list="3,5", encoder_branch_type="attn:1:16:4,lightweight:default:16:4",
             decoder_branch_type="attn:1:16:4,dynamic:default:16:4")

# model options -> (error type, the message: the problem, then the fix)
BAD_MODELS = {
    "unknown branch type": (dict(encoder_branch_type="attn:1:16:4,cnn:default:16:4"), BranchSpecError,
                            r"unknown branch type 'cnn'; use one of attn, lightweight, dynamic"),
    "malformed branch spec": (dict(decoder_branch_type="attn:16:4"), BranchSpecError,
                              r"must have the form type:kernel:dim:heads, e\.g\. 'attn:1:80:4'"),
    "branch dims off the embed dim": (dict(encoder_branch_type="attn:1:16:4,lightweight:default:8:4"),
                                      BranchSpecError, r"16 \+ 8 = 24 do not add up to the embed dim 32 .*"
                                                       r"give dims that sum to 32, e\.g\. 'attn:1:16:4"),
    "heads not dividing the branch": (dict(encoder_branch_type="attn:1:16:3,lightweight:default:16:4"),
                                      BranchSpecError, r"3 heads do not divide its dim 16; choose heads"),
    "kernel list shorter than layers": (dict(encoder_kernel_size_list="3"), BranchSpecError,
                                        r"has 1 entries for 2 layers; give one kernel size per layer"),
    "even encoder kernel": (dict(encoder_kernel_size_list="3,4"), BranchSpecError,
                            r"kernel size 4 .* is even: a symmetric \(encoder\) convolution needs an odd"),
    "shared embeddings of other dims": (dict(share_all_embeddings=True, decoder_embed_dim=48,
                                             decoder_ffn_embed_dim=48,
                                             decoder_branch_type="attn:1:24:4,dynamic:default:24:4"),
                                        ValueError, r"--share-all-embeddings needs --encoder-embed-dim"),
}


@pytest.mark.parametrize("case", sorted(BAD_MODELS))
def test_bad_model_options(case):
    overrides, error, message = BAD_MODELS[case]
    with pytest.raises(error, match=message):
        build_registered_model("lite_transformer_base", DictionaryTask(40, joined=True), **{**SMALL, **overrides})


def test_bad_language_model_options():
    with pytest.raises(ValueError, match=r"--tie-adaptive-weights needs --adaptive-input and "
                                         r"--adaptive-softmax-cutoff"):
        build_registered_model("lite_transformer_lm", DictionaryTask(40, joined=True), decoder_layers=1,
                               decoder_embed_dim=D, tie_adaptive_weights=True)


def test_unknown_arch_in_our_console_script(capsys):
    with pytest.raises(SystemExit) as exit_info:
        profile_main(["--arch", "lite_transformer_iwslt_160"])
    assert exit_info.value.code == 2
    assert re.search(r"unknown arch 'lite_transformer_iwslt_160': not registered with fairseq .* needs its "
                     r"own plugin imported", capsys.readouterr().err)


def test_unknown_model_of_a_recipe(tmp_path):
    (tmp_path / "dict.de.txt").write_text("a 1\n")
    with pytest.raises(SystemExit, match=r"has no model 'lite_999'; it has: lite_demo, "):
        lsra_train([str(REPO / "examples" / "multi30k" / "train.yaml"), "lite_999", "--data", str(tmp_path),
                    "--run-dir", str(tmp_path / "run")])


@pytest.fixture(scope="module")
def binarized(tmp_path_factory):
    """A fairseq-preprocess output folder of the tiny translation pair (its main, in this process)."""
    from fairseq_cli import preprocess

    raw = translation_data(tmp_path_factory.mktemp("bad-inputs") / "raw", train=24)
    dest = raw.parent / "bin"
    preprocess.main(options.get_preprocessing_parser().parse_args([
        "--source-lang", "src", "--target-lang", "tgt", "--trainpref", str(raw / "train.src-tgt"),
        "--validpref", str(raw / "valid.src-tgt"), "--destdir", str(dest), "--joined-dictionary",
        "--workers", "1"]))
    return dest


def broken_copy(binarized, tmp_path, change):
    folder = tmp_path / "bin"
    shutil.copytree(binarized, folder)
    change(folder)
    return folder


def truncate(path):
    path.write_bytes(path.read_bytes()[:path.stat().st_size // 2])


# what is done to a good binarized folder -> what lsra-train says
BAD_DATA = {
    "missing folder": (lambda f: shutil.rmtree(f), r"no binarized dataset at \S+ \(no dict\*\.txt in it\): "
                                                   r"prepare it first, e\.g\. make prepare-<dataset>"),
    "truncated data": (lambda f: truncate(f / "train.src-tgt.src.bin"),
                       r"train\.src-tgt\.src\.bin is truncated \(\d+ of \d+ bytes\): prepare the data again"),
    "truncated index": (lambda f: truncate(f / "train.src-tgt.tgt.idx"),
                        r"train\.src-tgt\.tgt\.idx is not a fairseq index or is truncated .*: prepare the data"),
    "misaligned sides": (lambda f: shutil.copy(f / "valid.src-tgt.src.idx", f / "train.src-tgt.src.idx"),
                         r"the sides of train\.src-tgt have different sentence counts .*\(misaligned files\); "
                         r"prepare the data again"),
}


@pytest.mark.parametrize("case", sorted(BAD_DATA))
def test_bad_binarized_data_in_the_recipes(case, binarized, tmp_path):
    change, message = BAD_DATA[case]
    folder = broken_copy(binarized, tmp_path, change)
    with pytest.raises(SystemExit, match=message):
        lsra_train([str(REPO / "examples" / "multi30k" / "train.yaml"), "lite_demo", "--data", str(folder),
                    "--run-dir", str(tmp_path / "run")])
    assert not (tmp_path / "run").exists()  # stopped before anything was started or written


def test_empty_training_data_in_the_recipes(binarized, tmp_path):
    from fairseq.data.indexed_dataset import MMapIndexedDatasetBuilder

    folder = tmp_path / "bin"
    shutil.copytree(binarized, folder)
    for lang in ("src", "tgt"):  # what fairseq-preprocess writes for empty text files
        prefix = folder / f"train.src-tgt.{lang}"
        MMapIndexedDatasetBuilder(f"{prefix}.bin").finalize(f"{prefix}.idx")
    with pytest.raises(SystemExit, match=r"holds no sentences: the training data is empty; prepare the data"):
        lsra_train([str(REPO / "examples" / "multi30k" / "train.yaml"), "lite_demo", "--data", str(folder),
                    "--run-dir", str(tmp_path / "run")])


def test_misaligned_raw_corpus_in_the_recipes(tmp_path, capsys):
    raw = tmp_path / "raw"
    raw.mkdir()
    for split in ("train", "val", "test_2016_flickr"):
        (raw / f"{split}.de").write_text("Ein Hund .\nZwei Katzen .\nDrei Vögel .\n")
        (raw / f"{split}.en").write_text("A dog .\nTwo cats .\n" + ("Three birds .\n" if split != "train" else ""))
    status = prepare_main(["multi30k", "--raw", str(raw), "--work", str(tmp_path / "work"),
                           "--dest", str(tmp_path / "bin"), "--workers", "1"])
    assert status == 1
    assert re.search(r"train: the languages have different line counts \{'de': 3, 'en': 2\}; are the corpus "
                     r"files complete", capsys.readouterr().err)
    assert not (tmp_path / "bin").exists()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny translation model trained 2 updates by fairseq-train's main (in this process)."""
    from fairseq_cli import train

    root = tmp_path_factory.mktemp("trained")
    data = translation_data(root / "data", train=24)
    argv = [str(data), "--user-dir", str(USER_DIR), "--task", "translation", *TINY_LSRA, *TRAINING,
            *LABEL_SMOOTHING, "--max-tokens", "400", "--max-update", "2", "--save-dir", str(root / "run"),
            "--no-epoch-checkpoints"]
    train.main(convert_namespace_to_omegaconf(options.parse_args_and_arch(options.get_training_parser(), argv)))
    return data, root / "run" / "checkpoint_last.pt"


def read_checkpoint(path):
    """fairseq's checkpoint reader (every fairseq tool reads checkpoints through it)."""
    return checkpoint_utils.load_checkpoint_to_cpu(str(path))


def corrupt(path, good):
    path.write_bytes(bytes(range(256)) * 64)


def truncated(path, good):
    path.write_bytes(good.read_bytes()[:good.stat().st_size // 2])


def foreign(path, good):
    torch.save({"weights": torch.zeros(3), "step": 4}, path)


def official(path, good):
    ref = reference_outputs("wmt200")
    save_official(path, ref["args"], ref["state_dict"])


def official_with_initialiser(path, good):
    ref = reference_outputs("iwslt160")  # its args hold the official initialiser, pickled by name
    save_official(path, ref["args"], ref["state_dict"])


def other_plugins_model(path, good):
    state = torch.load(good, weights_only=True)
    state["cfg"]["model"]["_name"] = "my_plugin_transformer"
    torch.save(state, path)


def unsafe(path, good):
    state = torch.load(good, weights_only=True)
    state["extra_state"]["started"] = datetime.date(2026, 12, 1)  # not on torch's safe list
    torch.save(state, path)


# how the file is made from a good checkpoint -> what reading it says
BAD_CHECKPOINTS = {
    "corrupt": (corrupt, r"cannot be read .* the file is truncated or not a PyTorch checkpoint\. Copy it again"),
    "truncated": (truncated, r"cannot be read .* truncated or not a PyTorch checkpoint\. Copy it again, or resume "
                             r"from an earlier one"),
    "foreign": (foreign, r"is not a fairseq checkpoint \(it holds a dict with keys \['step', 'weights'\].*pass a "
                         r"checkpoint written by fairseq-train or lsra-import-official"),
    "official": (official, r"is an official Lite Transformer checkpoint \(fairseq 0\.8, arch "
                           r"transformer_multibranch_v2_wmt_en_de\).*lsra-import-official \S+ converted\.pt"),
    "official, initialiser in args": (official_with_initialiser,
                                      r"is an official Lite Transformer checkpoint \(fairseq 0\.8: it holds fairseq"
                                      r"\.models\.transformer_multibranch_v2\.\w+\); convert it first: "
                                      r"lsra-import-official"),
    "model of a plugin not loaded": (other_plugins_model, r"holds a model 'my_plugin_transformer' that is not "
                                                          r"registered with fairseq: load the plugin that defines "
                                                          r"it with --user-dir"),
    "needs unsafe unpickling": (unsafe, r"holds objects that safe loading refuses \(datetime\.date; .*rerun with "
                                        r"TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1"),
}


@pytest.mark.parametrize("case", sorted(BAD_CHECKPOINTS))
def test_bad_checkpoint_is_explained_when_read(case, trained, tmp_path):
    make, message = BAD_CHECKPOINTS[case]
    _, good = trained
    make(tmp_path / "bad.pt", good)
    before = (tmp_path / "bad.pt").read_bytes()
    with pytest.raises(CheckpointError, match=message):
        read_checkpoint(tmp_path / "bad.pt")
    assert (tmp_path / "bad.pt").read_bytes() == before  # reading never changes the file


def test_unsafe_unpickling_only_when_the_user_opts_in(trained, tmp_path, monkeypatch):
    _, good = trained
    unsafe(tmp_path / "trusted.pt", good)
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    assert read_checkpoint(tmp_path / "trusted.pt")["extra_state"]["started"] == datetime.date(2026, 12, 1)


def test_our_checkpoint_given_to_the_official_importer(trained, tmp_path, capsys):
    _, good = trained
    with pytest.raises(SystemExit) as exit_info:
        import_official_main([str(good), str(tmp_path / "out.pt")])
    assert exit_info.value.code == 2
    assert "this is a current fairseq checkpoint ('cfg', no 'args'), not an official Lite Transformer one " \
           "(fairseq 0.8); current checkpoints load without import" in capsys.readouterr().err
    assert not (tmp_path / "out.pt").exists()


def test_fairseq_tool_prints_the_message_not_a_traceback(trained, tmp_path):
    data, good = trained
    official(tmp_path / "official.pt", good)
    result = subprocess.run(fairseq_command("generate", data, "--path", tmp_path / "official.pt", "--cpu",
                                            "--dataset-impl", "raw", "-s", "src", "-t", "tgt"),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert re.search(r"error: \S+official\.pt is an official Lite Transformer checkpoint .*convert it first: "
                     r"lsra-import-official", result.stderr), result.stderr[-3000:]


INTERACTIVE_INPUT = ["w1 w2 w3", "", " ".join(["w5"] * 1500), "w1 \u2603 w2", "w4 w5"]


def test_interactive_skips_bad_lines_and_goes_on(trained):
    data, good = trained
    result = subprocess.run(fairseq_command("interactive", data, "--path", good, "--cpu", "-s", "src", "-t", "tgt",
                                            "--beam", "1", "--max-len-b", "5"),
                            input="\n".join(INTERACTIVE_INPUT) + "\n", capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    sources = dict(re.findall(r"^S-(\d+)\t(.*)$", output, flags=re.M))
    # every good line is translated, under its own number; the bad ones are skipped, with the reason
    assert sorted(map(int, sources)) == [0, 3, 4], output[-3000:]
    assert sources["3"] == "w1 <unk> w2" and sources["4"] == "w4 w5"
    assert len(re.findall(r"^H-\d+\t", output, flags=re.M)) == 3
    assert "empty input line: skipped" in output
    assert re.search(r"has 1501 tokens after tokenization and BPE, more than the model's 1024 positions: skipped; "
                     r"split it into shorter sentences", output)
    assert re.search(r"1 token\(s\) not in the model's dictionary are translated as <unk>; check the input's "
                     r"language, casing, --tokenizer and --bpe flags", output)

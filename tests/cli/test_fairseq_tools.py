"""End to end on real data: Multi30k De-En through fairseq's own command-line tools.

A small subset is Moses-tokenized (sacremoses), BPE'd (subword-nmt), binarized, then used by
fairseq-train (3 epochs), fairseq-generate, fairseq-interactive, fairseq-hydra-train and a resumed
fairseq-train, all with ``--user-dir user_dir`` and nothing else from this package.
"""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ..conftest import REPO

BIN = Path(sys.executable).parent
USER_DIR = str(REPO / "user_dir")
TINY_MODEL = [
    "--arch", "lite_transformer_iwslt_de_en_160", "--encoder-embed-dim", "64", "--decoder-embed-dim", "64",
    "--encoder-ffn-embed-dim", "64", "--decoder-ffn-embed-dim", "64", "--encoder-layers", "2",
    "--decoder-layers", "2", "--encoder-kernel-size-list", "3,5", "--decoder-kernel-size-list", "3,5",
    "--encoder-branch-type", "attn:1:32:4,lightweight:default:32:4",
    "--decoder-branch-type", "attn:1:32:4,dynamic:default:32:4", "--decoder-glu", "--dropout", "0.1",
]
TRAINING = ["--optimizer", "adam", "--lr", "1e-3", "--lr-scheduler", "inverse_sqrt", "--warmup-updates", "30",
            "--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.1",
            "--max-tokens", "2000", "--cpu", "--log-format", "simple", "--no-progress-bar", "--seed", "1"]


def run(tool, *args, stdin=None, succeeds=True):
    result = subprocess.run([str(BIN / tool), *map(str, args)], input=stdin, capture_output=True,
                            text=True, timeout=600)
    output = result.stdout + result.stderr
    assert (result.returncode == 0) == succeeds, f"{tool} exited with {result.returncode}:\n{output[-3000:]}"
    return output


def load(path):
    return torch.load(path, weights_only=True)  # safe loading works on fairseq's checkpoints


@pytest.fixture(scope="module")
def multi30k(shared_data, tmp_path_factory):
    """1,200 training pairs, 100 valid and 100 test pairs, binarized with a joined dictionary."""
    from sacremoses import MosesTokenizer
    from subword_nmt.apply_bpe import BPE
    from subword_nmt.learn_bpe import learn_bpe

    raw, work = shared_data / "multi30k" / "raw", tmp_path_factory.mktemp("multi30k")
    splits = {"train": ("train", 1200), "valid": ("val", 100), "test": ("test_2016_flickr", 100)}
    for lang in ("de", "en"):
        tokenizer = MosesTokenizer(lang=lang)
        for split, (name, size) in splits.items():
            lines = (raw / f"{name}.{lang}").read_text(encoding="utf-8").splitlines()[:size]
            (work / f"tok.{split}.{lang}").write_text(
                "".join(tokenizer.tokenize(l, escape=False, return_str=True) + "\n" for l in lines))
    with open(work / "codes", "w") as codes:
        learn_bpe((work / "tok.train.de").read_text().splitlines() + (work / "tok.train.en").read_text().splitlines(),
                  codes, num_symbols=800)
    with open(work / "codes") as codes:
        bpe = BPE(codes)
    for split in splits:
        for lang in ("de", "en"):
            lines = (work / f"tok.{split}.{lang}").read_text().splitlines()
            (work / f"bpe.{split}.{lang}").write_text("".join(bpe.process_line(l) + "\n" for l in lines))
    run("fairseq-preprocess", "--source-lang", "de", "--target-lang", "en", "--joined-dictionary",
        "--trainpref", work / "bpe.train", "--validpref", work / "bpe.valid", "--testpref", work / "bpe.test",
        "--destdir", work / "bin", "--workers", "1")
    return work


def train(multi30k, save_dir, *extra, succeeds=True):
    return run("fairseq-train", multi30k / "bin", "--user-dir", USER_DIR, "--task", "translation",
               *TINY_MODEL, "--share-all-embeddings", *TRAINING, "--max-epoch", "3", "--save-dir", save_dir,
               *extra, succeeds=succeeds)


@pytest.fixture(scope="module")
def trained(multi30k):
    """3 epochs without interruption (checkpoint2.pt is where the resume test picks up)."""
    save_dir = multi30k / "checkpoints"
    return save_dir, train(multi30k, save_dir)


def epoch_losses(log):
    return [float(x) for x in re.findall(r"\| train \| epoch \d+ \| loss ([\d.]+)", log)]


def test_train_three_epochs_loss_goes_down(trained):
    save_dir, log = trained
    losses = epoch_losses(log)
    assert len(losses) == 3 and losses[2] < losses[1] < losses[0], losses
    checkpoint = load(save_dir / "checkpoint_last.pt")
    assert checkpoint["cfg"]["model"]["_name"] == "lite_transformer_iwslt_de_en_160"
    assert checkpoint["cfg"]["model"]["encoder_layers"] == 2  # the flag beat the arch default


def hypotheses(out):
    """id -> (score, BPE-joined text, positional scores) of fairseq-generate/-interactive output."""
    texts = {int(i): (float(score), text.replace("@@ ", "")) for i, score, text in
             re.findall(r"^H-(\d+)\t(\S+)\t(.*)$", out, flags=re.M)}
    positional = {int(i): [float(v) for v in values.split()] for i, values in
                  re.findall(r"^P-(\d+)\t(.*)$", out, flags=re.M)}
    return {i: (*texts[i], positional[i]) for i in texts}


def generate(data, checkpoint, *extra):
    return run("fairseq-generate", data, "--user-dir", USER_DIR, "--path", checkpoint, "--cpu", *extra)


def test_generate_prints_bleu_on_every_test_sentence(multi30k, trained):
    save_dir, _ = trained
    # fairseq drops a last batch whose size is not a multiple of --required-batch-size-multiple
    # (default 8), i.e. 4 of these 100 sentences; evaluation must see all of them.
    out = generate(multi30k / "bin", save_dir / "checkpoint_last.pt", "--beam", "4", "--remove-bpe",
                   "--max-tokens", "4000", "--required-batch-size-multiple", "1", "--max-len-a", "1.2",
                   "--max-len-b", "10")
    assert re.search(r"BLEU4? = [\d.]+", out), out[-2000:]
    assert len(re.findall(r"^H-\d+\t", out, flags=re.M)) == 100


INTERACTIVE_INPUT = ["Ein Mann fährt Fahrrad.", "Zwei Hunde spielen im Schnee."]


def test_interactive_with_moses_and_subword_nmt_translates_as_generate(multi30k, trained):
    """fairseq-interactive tokenizes and BPEs raw text itself; fairseq-generate, given the same
    sentences tokenized and BPE'd here, finds the same hypotheses with the same scores."""
    from sacremoses import MosesTokenizer
    from subword_nmt.apply_bpe import BPE

    save_dir, _ = trained
    checkpoint = save_dir / "checkpoint_last.pt"
    search = ["--beam", "2", "--max-len-a", "0", "--max-len-b", "20"]
    out = run("fairseq-interactive", multi30k / "bin", "--user-dir", USER_DIR, "--path", checkpoint,
              "--tokenizer", "moses", "--bpe", "subword_nmt", "--bpe-codes", multi30k / "codes",
              "--source-lang", "de", "--target-lang", "en", *search, "--cpu",
              stdin="".join(line + "\n" for line in INTERACTIVE_INPUT))
    assert re.findall(r"^S-\d+\t(.*)$", out, flags=re.M)[0] == "Ein Mann fährt Fahrrad ."
    assert len(re.findall(r"^D-\d+\t", out, flags=re.M)) == 2
    interactive = hypotheses(out)

    raw = multi30k / "interactive-as-raw"
    raw.mkdir()
    with open(multi30k / "codes") as codes:
        bpe = BPE(codes)
    tokenizer = MosesTokenizer(lang="de")
    source = [bpe.process_line(tokenizer.tokenize(line, return_str=True)) for line in INTERACTIVE_INPUT]
    for lang, lines in (("de", source), ("en", source)):  # the target side is not read for the search
        shutil.copy(multi30k / "bin" / f"dict.{lang}.txt", raw / f"dict.{lang}.txt")
        (raw / f"test.de-en.{lang}").write_text("".join(line + "\n" for line in lines))
    generated = hypotheses(generate(raw, checkpoint, "--dataset-impl", "raw", "-s", "de", "-t", "en",
                                    *search, "--batch-size", "1", "--required-batch-size-multiple", "1"))
    assert sorted(generated) == sorted(interactive) == [0, 1]
    for i in (0, 1):
        (score_i, text_i, positional_i), (score_g, text_g, positional_g) = interactive[i], generated[i]
        assert text_i == text_g and abs(score_i - score_g) <= 1e-4, (i, interactive[i], generated[i])
        assert len(positional_i) == len(positional_g) == len(text_i.split()) + 1  # + </s>
        assert max(abs(a - b) for a, b in zip(positional_i, positional_g)) <= 1e-4


@pytest.fixture(scope="module")
def resumed(multi30k, trained):
    """checkpoint2.pt of the uninterrupted run as checkpoint_last.pt of a new run to epoch 3."""
    save_dir, _ = trained
    resume_dir = multi30k / "resumed"
    resume_dir.mkdir()
    shutil.copy(save_dir / "checkpoint2.pt", resume_dir / "checkpoint_last.pt")
    return resume_dir, train(multi30k, resume_dir)


def test_resume_restores_updates_optimizer_and_schedule(trained, resumed):
    save_dir, _ = trained
    resume_dir, log = resumed
    saved = load(save_dir / "checkpoint2.pt")
    saved_updates = saved["optimizer_history"][-1]["num_updates"]
    assert saved_updates > 0
    loaded = re.search(r"Loaded checkpoint \S+checkpoint_last\.pt \(epoch (\d+) @ (\d+) updates\)", log)
    assert loaded and (int(loaded.group(1)), int(loaded.group(2))) == (3, saved_updates), log[-2000:]
    assert "begin training epoch 3" in log and "begin training epoch 1" not in log
    # The updates after loading continue Adam's step count and the inverse-sqrt schedule.
    final, uninterrupted = load(resume_dir / "checkpoint_last.pt"), load(save_dir / "checkpoint3.pt")
    assert final["optimizer_history"][-1]["num_updates"] == uninterrupted["optimizer_history"][-1]["num_updates"]
    # fairseq saves the scheduler before stepping it with the epoch's validation loss, so a resumed
    # run carries the loaded state ('best': epoch 1's loss) where a fresh scheduler would hold None.
    assert final["optimizer_history"][-1]["lr_scheduler_state"] == saved["optimizer_history"][-1]["lr_scheduler_state"]
    assert saved["optimizer_history"][-1]["lr_scheduler_state"]["best"] is not None
    ours, theirs = final["last_optimizer_state"], uninterrupted["last_optimizer_state"]
    assert ours["param_groups"] == theirs["param_groups"]  # lr included
    assert ours["state"].keys() == theirs["state"].keys()
    for index, state in ours["state"].items():
        assert state["step"] == theirs["state"][index]["step"]
        for moment in ("exp_avg", "exp_avg_sq"):
            torch.testing.assert_close(state[moment], theirs["state"][index][moment], atol=1e-6, rtol=1e-5)


def test_resumed_run_continues_as_the_uninterrupted_one(trained, resumed):
    """Same data order, dropout seeds and optimizer state: epoch 3 ends at the same weights (to
    1e-4: measured 1e-5 apart, float rounding; an epoch of training moves them by about 1e-2, a
    fresh optimizer by more than 1e-4; the exact-resume test is tests/cli/test_resume.py)."""
    save_dir, log = trained
    _, resumed_log = resumed
    assert epoch_losses(resumed_log) == epoch_losses(log)[2:]
    final, uninterrupted = load(resumed[0] / "checkpoint_last.pt"), load(save_dir / "checkpoint3.pt")
    assert final["model"].keys() == uninterrupted["model"].keys()
    for key, tensor in final["model"].items():
        torch.testing.assert_close(tensor, uninterrupted["model"][key], atol=1e-4, rtol=0, msg=key)


def test_truncated_checkpoint_last_stops_training_with_a_clear_error(multi30k, trained):
    save_dir, _ = trained
    broken = multi30k / "truncated"
    broken.mkdir()
    data = (save_dir / "checkpoint_last.pt").read_bytes()
    (broken / "checkpoint_last.pt").write_bytes(data[:len(data) // 2])
    out = train(multi30k, broken, succeeds=False)
    assert re.search(r"checkpoint \S+truncated/checkpoint_last\.pt cannot be read \(.*\); the file is "
                     r"truncated or not a PyTorch checkpoint\. .*--restore-file checkpointN\.pt", out, flags=re.S), \
        out[-3000:]
    assert "Traceback" not in out and "begin training epoch" not in out


def test_generate_loads_fairseq_legacy_checkpoint_through_the_plugin(multi30k):
    """fairseq's own argparse-era models (e.g. the Transformer baselines) pickle an
    argparse.Namespace into their checkpoints, which torch >= 2.6 refuses without the plugin."""
    save_dir = multi30k / "transformer-checkpoints"
    run("fairseq-train", multi30k / "bin", "--task", "translation", "--arch", "transformer", "--encoder-layers", "1",
        "--decoder-layers", "1", "--encoder-embed-dim", "32", "--decoder-embed-dim", "32",
        "--encoder-ffn-embed-dim", "32", "--decoder-ffn-embed-dim", "32", *TRAINING, "--max-update", "2",
        "--save-dir", save_dir)
    out = run("fairseq-generate", multi30k / "bin", "--user-dir", USER_DIR, "--path", save_dir / "checkpoint_last.pt",
              "--beam", "1", "--max-len-b", "5", "--cpu", "--max-tokens", "4000")
    assert re.search(r"BLEU4? = [\d.]+", out), out[-2000:]


HYDRA_CONFIG = REPO / "examples" / "multi30k" / "lite_tiny_cpu.yaml"


def built_structure(model):
    """What the built model's tensors say of its configuration: layers, dims, branches (attention
    heads leave no trace in the tensors: '*'), kernels, shared embeddings."""
    weights = model.state_dict()
    structure = {"share_all_embeddings": model.encoder.embed_tokens.weight is model.decoder.embed_tokens.weight}
    for side in ("encoder", "decoder"):
        layers = sorted({int(key.split(".")[2]) for key in weights if key.startswith(f"{side}.layers.")})
        branches = [f"{side}.layers.{n}.self_attn.branches." for n in layers]
        taps = [weights[b + "1.conv.weight"] for b in branches]  # lightweight: heads x k
        structure.update({
            f"{side}_layers": len(layers),
            f"{side}_embed_dim": weights[f"{side}.embed_tokens.weight"].size(1),
            f"{side}_ffn_embed_dim": weights[f"{side}.layers.0.fc1.weight"].size(0),
            f"{side}_branch_type": f"attn:1:{weights[branches[0] + '0.q_proj.weight'].size(0)}:*,lightweight:"
                                   f"default:{weights[branches[0] + '1.linear1.weight'].size(1)}:{taps[0].size(0)}",
            f"{side}_kernel_size_list": ",".join(str(t.size(1)) for t in taps),
        })
    return structure


def test_hydra_train_with_example_config(multi30k):
    """fairseq-hydra-train finishes, the model it built has every size the YAML asks for, and
    fairseq-generate loads the checkpoint it wrote."""
    from fairseq import checkpoint_utils
    from omegaconf import OmegaConf

    import lsra_fairseq.plugin  # noqa: F401  (what --user-dir does)

    save_dir = multi30k / "hydra-checkpoints"
    log = run("fairseq-hydra-train", "--config-dir", HYDRA_CONFIG.parent, "--config-name", HYDRA_CONFIG.stem,
              f"task.data={multi30k / 'bin'}", f"common.user_dir={USER_DIR}", f"checkpoint.save_dir={save_dir}",
              "optimization.max_epoch=1", f"hydra.run.dir={multi30k / 'hydra-outputs'}")
    assert "done training" in log and re.search(r"end of epoch 1 \(average epoch stats below\)", log), log[-2000:]
    yaml_model = OmegaConf.to_container(OmegaConf.load(HYDRA_CONFIG).model)
    checkpoint = load(save_dir / "checkpoint_last.pt")
    assert {key: checkpoint["cfg"]["model"][key] for key in yaml_model} == yaml_model  # every key, as saved
    (model,), _ = checkpoint_utils.load_model_ensemble([str(save_dir / "checkpoint_last.pt")],
                                                       arg_overrides={"data": str(multi30k / "bin")})
    assert type(model).__name__ == "LiteTransformerModel"
    built = built_structure(model)
    expected = {key: re.sub(r"^(attn:1:\d+):\d+", r"\1:*", str(yaml_model[key])) if "branch" in key
                else yaml_model[key] for key in built}
    assert built == expected

    out = generate(multi30k / "bin", save_dir / "checkpoint_last.pt", "--beam", "2", "--max-len-a", "0",
                   "--max-len-b", "5", "--max-tokens", "4000", "--required-batch-size-multiple", "1")
    assert re.search(r"BLEU4? = [\d.]+", out) and len(re.findall(r"^H-\d+\t", out, flags=re.M)) == 100

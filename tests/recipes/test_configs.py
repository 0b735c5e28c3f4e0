"""Recipe configs and Makefile targets: every model trains with a registered arch, batches keep the
paper's tokens per update, and the targets run the right commands."""
import subprocess
from pathlib import Path

import pytest
from fairseq.models import ARCH_MODEL_REGISTRY

import lsra_fairseq.plugin  # noqa: F401
from lsra_fairseq.training import batch_split, load_config, main, read_config, train_command

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted(REPO.glob("examples/*/train.yaml"))


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.parent.name)
def test_every_model_uses_a_registered_arch(config):
    models = read_config(config)["models"]
    assert models
    for model in models:
        flags, tokens = load_config(config, model)
        assert flags["arch"] in ARCH_MODEL_REGISTRY and tokens > 0


def test_en_fr_config_inherits_en_de_and_overrides_its_schedule():
    fr, _ = load_config(REPO / "examples/wmt14_en_fr/train.yaml", "lite_496")
    de, _ = load_config(REPO / "examples/wmt14_en_de/train.yaml", "lite_496")
    assert (fr["warmup-updates"], fr["lr-period-updates"], fr["target-lang"]) == (5000, 45000, "fr")
    assert (de["warmup-updates"], de["lr-period-updates"], de["lr"]) == (10000, 40000, 0.001)
    assert fr["arch"] == "lite_transformer_wmt_en_fr_496"


@pytest.mark.parametrize("gpus, expected", [(8, (4096, 16)), (1, (4096, 128)), (4, (4096, 32)), (256, (2048, 1))])
def test_update_frequency_keeps_the_paper_batch(gpus, expected):
    assert batch_split(8 * 16 * 4096, 4096, gpus) == expected


def test_train_command_passes_extra_flags_last(tmp_path):
    command = train_command(REPO / "examples/iwslt14/train.yaml", "lite_160", Path("data-bin/iwslt14"),
                            tmp_path, ["--cpu", "--max-update", "100"])
    joined = " ".join(command)
    assert "--arch lite_transformer_iwslt_de_en_160" in joined and "--update-freq 1" in joined
    assert joined.index("--max-update 50000") < joined.index("--max-update 100")


def test_training_without_a_prepared_dataset_says_what_to_run(tmp_path):
    with pytest.raises(SystemExit, match=r"no binarized dataset at .*none.*make prepare-<dataset>"):
        main([str(REPO / "examples/iwslt14/train.yaml"), "lite_160", "--data", str(tmp_path / "none"),
              "--run-dir", str(tmp_path / "run")])
    assert not (tmp_path / "run").exists()


def make_dry_run(*args):
    """``make -n`` with the install step taken as done."""
    result = subprocess.run(["make", "-n", "-o", "install", *args], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_targets_run_the_recipe_commands():
    assert "lsra-prepare iwslt14 --work data/iwslt14 --dest data-bin/iwslt14 --raw /raw" in \
        make_dry_run("prepare-iwslt14", "RAW=/raw")
    assert "lsra-train examples/wmt14_en_de/train.yaml lite_200 --data data-bin/wmt14-en-de" in \
        make_dry_run("train-wmt14-en-de", "MODEL=lite_200")
    test = make_dry_run("test-model-wmt14-en-de", "MODEL=lite_200")
    assert "--beam 4 --lenpen 0.6 --compound-split" in test
    assert "--average-last 10 --beam 4 --lenpen 1" in make_dry_run("test-model-iwslt14", "MODEL=lite_160")
    # The summarization and LM recipes take the same variables, and default their model.
    assert "lsra-train examples/cnndm/train.yaml lite_cnndm_496 --data data-bin/cnndm " \
        "--run-dir runs/cnndm/lite_cnndm_496 --cpu" in make_dry_run("train-cnndm", "TRAIN_ARGS=--cpu")
    assert "lsra-prepare cnndm --work data/cnndm --dest data-bin/cnndm --raw /raw --bpe-merges 30000" in \
        " ".join(make_dry_run("prepare-cnndm", "RAW=/raw").split())
    assert "lsra-evaluate data-bin/cnndm runs/cnndm/lite_cnndm_496 --dataset cnndm --model lite_cnndm_496 " \
        "--results results --beam 4 --lenpen 2.0 --min-len 55 --max-len-a 0 --max-len-b 140 " \
        "--no-repeat-ngram-size 3 --cpu" in make_dry_run("test-model-cnndm", "TEST_ARGS=--cpu")
    assert "lsra-prepare wikitext103 --work data/wikitext103 --dest data-bin/wikitext103 --raw /raw --workers 1" \
        in make_dry_run("prepare-wikitext103", "RAW=/raw", "WORKERS=1")
    assert "lsra-evaluate data-bin/wikitext103 runs/wikitext103/lite_lm_x --dataset wikitext103 --model lite_lm_x " \
        "--results results --context-window 32 --tokens-per-sample 64 --max-tokens 64" in \
        make_dry_run("test-model-wikitext103", "MODEL=lite_lm_x", "WT103_CONTEXT_WINDOW=32",
                     "WT103_TOKENS_PER_SAMPLE=64")
    assert "lsra-train examples/wikitext103/train.yaml lite_lm_wiki103 --data data-bin/wikitext103" in \
        make_dry_run("train-wikitext103")


@pytest.mark.parametrize("dataset", ["", "iwslt"])
def test_an_unknown_dataset_lists_the_known_ones(dataset):
    result = subprocess.run(["make", "-s", "-o", "install", "train", f"DATASET={dataset}"], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "set DATASET=<one of: cnndm iwslt14 multi30k wikitext103 wmt14-en-de wmt14-en-fr>" in result.stdout

"""Every architecture this plugin registers, built the way fairseq-train builds it, and one real
fairseq-train update per model family (translation, summarization, Transformer baselines, LM).

fairseq-train's path: ``options.parse_args_and_arch`` (with ``--user-dir``) ->
``convert_namespace_to_omegaconf`` -> ``tasks.setup_task`` (reads the data folder's dictionaries)
-> ``task.build_model``. The arch functions write into the same namespace the task options come
from, so a model that builds through a test helper may still fail here (the WikiText-103 LM did:
a ``${task...}`` default copied into the namespace pointed at itself).
"""
import logging

import pytest
from fairseq import options, tasks
from fairseq.dataclass.utils import convert_namespace_to_omegaconf
from fairseq.models import ARCH_MODEL_REGISTRY

import lsra_fairseq.plugin  # noqa: F401  (registers everything; the registry is read at collection)
from lsra_fairseq.commands import USER_DIR
from lsra_fairseq.models.architectures import PAPER_CONFIGS
from lsra_fairseq.models.lite_transformer_lm import LM_PAPER_CONFIGS, LiteTransformerLanguageModel
from lsra_fairseq.models.transformer_baselines import BASELINES
from lsra_fairseq.training import main as lsra_train

from ..conftest import REPO
from ..tiny_runs import LABEL_SMOOTHING, TINY_LSRA, TRAINING, lm_data, translation_data, update_losses

pytestmark = pytest.mark.usefixtures("one_thread")

OUR_ARCHS = sorted(arch for arch, model in ARCH_MODEL_REGISTRY.items()
                   if model.__module__.startswith("lsra_fairseq.") or arch in BASELINES)
WIKITEXT103, WIKITEXT103_WORDS = "wikitext103", 267_744  # the WikiText-103 dictionary's size
TASKS = {"lite_transformer_cnndm_496": ["--task", "lsra_summarization", "-s", "src", "-t", "tgt"]}


def task_flags(arch):
    if ARCH_MODEL_REGISTRY[arch] is LiteTransformerLanguageModel:
        return ["--task", "language_modeling"]
    return TASKS.get(arch, ["--task", "translation", "-s", "src", "-t", "tgt"])


@pytest.fixture(scope="module")
def data_folders(tmp_path_factory):
    """Dictionaries only (fairseq-train reads nothing else before building): one for both sides
    of translation, a small LM one, and one of WikiText-103's size for the paper LM."""
    root = tmp_path_factory.mktemp("build-path")
    sizes = {"translation": 1000, "lm": 1000, WIKITEXT103: WIKITEXT103_WORDS}
    for name, size in sizes.items():
        (root / name).mkdir()
        for file in (["dict.src.txt", "dict.tgt.txt"] if name == "translation" else ["dict.txt"]):
            (root / name / file).write_text("".join(f"w{i} 1\n" for i in range(size)))
    return root


def data_folder(arch):
    if ARCH_MODEL_REGISTRY[arch] is not LiteTransformerLanguageModel:
        return "translation"
    return WIKITEXT103 if arch in LM_PAPER_CONFIGS else "lm"


def fairseq_train_model(data, argv):
    """The model fairseq-train would train (and its config), built along fairseq-train's path."""
    args = options.parse_args_and_arch(options.get_training_parser(),
                                       [str(data), "--user-dir", str(USER_DIR), *argv])
    cfg = convert_namespace_to_omegaconf(args)
    task = tasks.setup_task(cfg.task)
    return task.build_model(cfg.model), cfg


def test_every_paper_table_is_registered():
    assert set(PAPER_CONFIGS) | set(LM_PAPER_CONFIGS) | set(BASELINES) <= set(OUR_ARCHS)


@pytest.mark.parametrize("arch", OUR_ARCHS)
def test_arch_builds_as_fairseq_train_builds_it(arch, data_folders):
    is_lm = ARCH_MODEL_REGISTRY[arch] is LiteTransformerLanguageModel
    model, cfg = fairseq_train_model(data_folders / data_folder(arch), ["--arch", arch, *task_flags(arch)])
    assert isinstance(model, ARCH_MODEL_REGISTRY[arch])
    assert cfg.model._name == arch
    if is_lm:  # positions follow the task's sample length, the ${task...} defaults resolved
        assert model.decoder.max_positions() == cfg.task.tokens_per_sample
        assert cfg.task.max_target_positions in (None, cfg.task.tokens_per_sample)
    paper = {**{name: c["embed_dim"] for name, c in PAPER_CONFIGS.items()},
             **{name: c["decoder_embed_dim"] for name, c in LM_PAPER_CONFIGS.items()},
             **{name: c["embed_dim"] for name, c in BASELINES.items()}}
    if arch in paper:  # the arch's own size, not a dataclass default
        assert cfg.model.decoder_embed_dim == paper[arch]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("one-update")
    return {"translation": translation_data(root / "translation", train=16), "lm": lm_data(root / "lm")}


TINY_SIZES = ["--encoder-layers", "1", "--decoder-layers", "1", "--encoder-embed-dim", "32",
              "--decoder-embed-dim", "32", "--encoder-ffn-embed-dim", "32", "--decoder-ffn-embed-dim", "32"]
TINY_LSRA_SIDES = [*TINY_SIZES, "--encoder-branch-type", "attn:1:16:2,dynamic:default:16:2",
                   "--decoder-branch-type", "attn:1:16:2,dynamic:default:16:2",
                   "--encoder-kernel-size-list", "3", "--decoder-kernel-size-list", "3"]
# family -> the flags of a one-update fairseq-train run (task, arch, tiny sizes)
FAMILIES = {
    "translation": ["--task", "translation", *TINY_LSRA, *LABEL_SMOOTHING],
    "summarization": ["--task", "lsra_summarization", *LABEL_SMOOTHING, "--source-length", "6",
                      "--arch", "lite_transformer_cnndm_496", *TINY_LSRA_SIDES],
    "transformer baseline": ["--task", "translation", *LABEL_SMOOTHING, "--arch", "transformer_iwslt_de_en_128",
                             *TINY_SIZES, "--encoder-attention-heads", "2", "--decoder-attention-heads", "2"],
    "language model": ["--task", "language_modeling", "--arch", "lite_transformer_lm_wiki103",
                       "--decoder-layers", "1", "--decoder-embed-dim", "32", "--decoder-ffn-embed-dim", "32",
                       "--decoder-branch-type", "attn:1:16:2,dynamic:default:16:2",
                       "--decoder-kernel-size-list", "3", "--adaptive-input-cutoff", "10,20",
                       "--adaptive-softmax-cutoff", "10,20", "--criterion", "adaptive_loss",
                       "--ddp-backend", "legacy_ddp", "--tokens-per-sample", "16"],
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_one_fairseq_train_update(family, tiny_data, tmp_path, caplog):
    """fairseq-train's main (in this process, to save a start-up) takes one update."""
    from fairseq_cli import train

    data = tiny_data["lm" if family == "language model" else "translation"]
    argv = [str(data), "--user-dir", str(USER_DIR), *TRAINING, *FAMILIES[family],
            "--max-tokens", "400", "--max-update", "1", "--no-save", "--save-dir", str(tmp_path)]
    cfg = convert_namespace_to_omegaconf(options.parse_args_and_arch(options.get_training_parser(), argv))
    with caplog.at_level(logging.INFO):
        train.main(cfg)
    assert len(update_losses(caplog.text)) == 1, caplog.text[-3000:]


@pytest.mark.slow
def test_wikitext103_recipe_trains_the_paper_lm_at_tiny_size(tiny_data, tmp_path):
    """`make train DATASET=wikitext103` runs lsra-train with the paper's model (MODEL default
    lite_lm_wiki103); TRAIN_ARGS shrink it to one update on a toy corpus."""
    train_args = ["--cpu", "--update-freq", "1", "--decoder-layers", "1", "--decoder-embed-dim", "32",
                  "--decoder-ffn-embed-dim", "32", "--decoder-branch-type", "attn:1:16:2,dynamic:default:16:2",
                  "--decoder-kernel-size-list", "3", "--adaptive-input-cutoff", "10,20",
                  "--adaptive-softmax-cutoff", "10,20", "--tokens-per-sample", "16", "--max-tokens", "64",
                  "--max-update", "1", "--dataset-impl", "raw", "--log-interval", "1", "--no-save",
                  "--disable-validation"]
    assert lsra_train([str(REPO / "examples" / "wikitext103" / "train.yaml"), "lite_lm_wiki103",
                       "--data", str(tiny_data["lm"]), "--run-dir", str(tmp_path), *train_args]) == 0
    log = (tmp_path / "train.log").read_text()
    assert "lite_transformer_lm_wiki103" in log and len(update_losses(log)) == 1, log[-3000:]

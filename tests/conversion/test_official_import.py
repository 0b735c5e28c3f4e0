"""Official checkpoints imported and checked against the official implementation's own outputs.

The fixtures (``fixtures/official-lite-transformer``) hold the official model's weights, args and
outputs. Each test writes them as the official code saved checkpoints (fairseq 0.8: a legacy-format
pickle with an ``argparse.Namespace``), imports that file, and compares.
"""
import functools
import math
import os
import re
import sys
import types
from argparse import Namespace
from unittest import mock

import pytest
import torch
from fairseq import checkpoint_utils, options
from fairseq.sequence_generator import SequenceGenerator
from fairseq.tasks.translation import TranslationConfig, TranslationTask
from fairseq_cli import generate

import lsra_fairseq.plugin  # noqa: F401  (registers the models)
from lsra_fairseq.builder import DictionaryTask, build_registered_model
from lsra_fairseq.commands import USER_DIR
from lsra_fairseq.conversion import OfficialCheckpointError, import_official
from lsra_fairseq.conversion.official import main, official_initialiser

from ..conftest import SHARED, require_shared
from ..modules.test_conv_branch import BranchCalls, check_official_leak

FIXTURES = SHARED / "fixtures" / "official-lite-transformer"
OFFICIAL_MODULE = "fairseq.models.transformer_multibranch_v2"
TOLERANCE = 1e-5  # the bound for every output

pytestmark = pytest.mark.usefixtures("one_thread")  # small models, shared CPUs


@functools.lru_cache(maxsize=None)
def reference_outputs(name):
    path = require_shared(FIXTURES) / f"ref_{name}.pt"
    if not path.is_file():
        pytest.fail(f"fixture {path} not found; set LSRA_SHARED to the folder holding fixtures/")
    return torch.load(path, weights_only=True)


def save_official(path, args, state_dict, modules=None, **entries):
    """Writes a checkpoint as the official code did. The fixture's args repr() what JSON cannot
    hold: 'function:NAME' is an initialiser of the official model module, which pickle stored by
    reference, so it is pickled that way again (from a stand-in module of the same name).
    ``entries`` replace top-level keys; ``modules`` ({name: module}) are importable meanwhile."""
    module, namespace = types.ModuleType(OFFICIAL_MODULE), Namespace(**args)
    for key, value in args.items():
        if isinstance(value, str) and value.startswith("function:"):
            name = value.split(":", 1)[1]

            def initialiser(tensor):
                return tensor
            initialiser.__module__ = OFFICIAL_MODULE
            initialiser.__name__ = initialiser.__qualname__ = name
            setattr(module, name, initialiser)
            setattr(namespace, key, initialiser)
    checkpoint = {
        "args": namespace, "model": dict(state_dict),
        "optimizer_history": [{"criterion_name": "LabelSmoothedCrossEntropyCriterion",
                               "optimizer_name": "FairseqAdam", "lr_scheduler_state": {"best": 4.0},
                               "num_updates": 50000}],
        "extra_state": {"epoch": 20, "batch_offset": 0, "val_loss": 4.0},
        "last_optimizer_state": {"state": {}, "param_groups": []},
        **entries,
    }
    with mock.patch.dict(sys.modules, {OFFICIAL_MODULE: module, **(modules or {})}):
        torch.save(checkpoint, path, _use_new_zipfile_serialization=False)  # torch 1.x's format


def translation_task(ref):
    dictionaries = DictionaryTask(ref["src_dict_size"], ref["tgt_dict_size"],
                                  joined=ref["args"]["share_all_embeddings"])
    return TranslationTask(TranslationConfig(), dictionaries.source_dictionary,
                           dictionaries.target_dictionary)


@pytest.fixture(scope="module", params=["iwslt160", "wmt200"])
def ref(request):
    return reference_outputs(request.param)


@pytest.fixture(scope="module")
def imported(ref, tmp_path_factory):
    work = tmp_path_factory.mktemp("official")
    save_official(work / "official.pt", ref["args"], ref["state_dict"])
    import_official(work / "official.pt", work / "ours.pt")
    return work / "ours.pt"


def load_imported(path, ref, **overrides):
    """Loads our checkpoint the way fairseq-generate does (overrides as --model-overrides)."""
    models, _ = checkpoint_utils.load_model_ensemble([str(path)], arg_overrides=overrides or None,
                                                     task=translation_task(ref))
    return models[0].eval()


def unpadded(tokens, pad):
    return [row[row.ne(pad)].unsqueeze(0) for row in tokens]


def incremental_logits(model, encoder_out, prev):
    state = {}
    steps = [model.decoder(prev[:, :t], encoder_out, incremental_state=state)[0][:, -1]
             for t in range(1, prev.size(1) + 1)]
    return torch.stack(steps, dim=1)


def padding_runs(model, ref):
    """Logits of the same sentences left-padded, right-padded and each alone (no padding)."""
    lengths, prev = ref["src_lengths"], ref["prev_output_tokens"]
    alone = [model(row, lengths[i:i + 1], prev[i:i + 1])[0]
             for i, row in enumerate(unpadded(ref["src_tokens"], ref["pad"]))]
    return {"logits_full": model(ref["src_tokens"], lengths, prev)[0],
            "logits_full_right_padded": model(ref["src_tokens_right_padded"], lengths, prev)[0],
            "logits_single": torch.cat(alone)}


def test_importing_keeps_the_plugins_allowlist(imported):
    """Reading an official file allows its initialiser only meanwhile, and the Namespace for good."""
    allowed = torch.serialization.get_safe_globals()
    assert Namespace in allowed
    assert not any(official_initialiser in (g if isinstance(g, tuple) else (g,)) for g in allowed)


def test_written_checkpoint_is_a_current_fairseq_one(imported, ref):
    checkpoint = torch.load(imported, weights_only=True)  # torch's safe unpickler
    assert checkpoint["args"] is None
    assert checkpoint["cfg"]["model"]["_name"] == "lite_transformer"
    assert checkpoint["cfg"]["model"]["official_padding"] is True
    task = checkpoint["cfg"]["task"]
    assert (task["_name"], task["source_lang"], task["target_lang"]) == (
        "translation", ref["args"]["source_lang"], ref["args"]["target_lang"])
    assert checkpoint["last_optimizer_state"] is None  # fine-tuning starts a fresh optimizer


def test_imported_model_reproduces_the_official_outputs(imported, ref):
    model = load_imported(imported, ref)
    src, lengths, prev = ref["src_tokens"], ref["src_lengths"], ref["prev_output_tokens"]
    with torch.no_grad():
        encoder_out = model.encoder(src, lengths)
        ours = dict(padding_runs(model, ref),
                    encoder_out=encoder_out["encoder_out"][0],
                    decoder_features=model.decoder(prev, encoder_out, features_only=True)[0],
                    logits_incremental=incremental_logits(model, encoder_out, prev))
    errors = {name: (value - ref[name]).abs().max().item() for name, value in ours.items()}
    assert max(errors.values()) <= TOLERANCE, errors


def teacher_forced_scores(model, src, tokens, eos):
    """Log-probabilities our model gives each token of a hypothesis, fed its own prefix."""
    prev = torch.cat([tokens.new_tensor([eos]), tokens[:-1]]).unsqueeze(0)
    lprobs = model.get_normalized_probs(model(src, torch.tensor([src.size(1)]), prev), log_probs=True)
    return lprobs[0].gather(1, tokens.unsqueeze(1)).squeeze(1)


@pytest.mark.parametrize("beam, key", [(4, "gen_beam4"), (1, "gen_greedy")])
def test_generation_reproduces_the_official_hypotheses(imported, ref, beam, key):
    model = load_imported(imported, ref)
    target_dictionary = model.decoder.dictionary
    official = ref[key]
    with torch.no_grad():
        # The model half: ours scores every official hypothesis as the official model did.
        for i, src in enumerate(unpadded(ref["src_tokens"], ref["pad"])):
            for hyp in official[i]:
                scores = teacher_forced_scores(model, src, hyp["tokens"], ref["eos"])
                assert (scores - hyp["positional_scores"]).abs().max() <= TOLERANCE, (i, hyp["tokens"])
        # The search half: fairseq's current generator with the official settings.
        generator = SequenceGenerator([model], target_dictionary, beam_size=beam, max_len_a=0,
                                      max_len_b=10, len_penalty=1.0, min_len=1)
        sample = {"net_input": {"src_tokens": ref["src_tokens"], "src_lengths": ref["src_lengths"]}}
        ours = generator.generate([model], sample)
    differences = [f"sentence {i}: official {len(hyps)} hypotheses, ours {len(ours[i])}"
                   for i, hyps in enumerate(official) if len(hyps) != len(ours[i])]
    differences += [
        f"sentence {i} rank {rank}: official {theirs['tokens'].tolist()} {theirs['score']:.6f}, "
        f"ours {mine['tokens'].tolist()} {float(mine['score']):.6f}"
        for i, hyps in enumerate(official) for rank, (theirs, mine) in enumerate(zip(hyps, ours[i]))
        if not torch.equal(theirs["tokens"], mine["tokens"])
        or abs(theirs["score"] - float(mine["score"])) > TOLERANCE]
    assert not differences, ("our model scores the official hypotheses as the official model does "
                             "(checked above), so these differences come from fairseq's generator:\n"
                             + "\n".join(differences))


def perturb_conv_input_biases(model):
    """The fixtures' biases are zero (their init), which hides the official padding leak."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("linear1.bias"):
                p.copy_(torch.randn(p.shape, generator=generator))


def padding_dependence(model, ref):
    with torch.no_grad():
        runs = padding_runs(model, ref)
    return max((runs[name] - runs["logits_single"]).abs().max().item()
               for name in ("logits_full", "logits_full_right_padded"))


def with_conv_input_biases(weights):
    """The official weights with random ``linear1`` biases: the fixtures' are zero (their init), so
    the leak in them is about 2.5e-6, too small to tell the two padding orders apart."""
    generator = torch.Generator().manual_seed(0)
    return {key: torch.randn(t.shape, generator=generator) if key.endswith("linear1.bias") else t
            for key, t in weights.items()}


def official_branch(args, weights, name):
    """What the official args and weights say of the conv branch ``name`` (of the encoder)."""
    match = re.fullmatch(r"encoder\.layers\.(\d+)\.self_attn\.branches\.(\d+)", name)
    layer, index = int(match.group(1)), int(match.group(2))
    prefix = f"{name}."
    branch_weights = {key[len(prefix):]: t for key, t in weights.items() if key.startswith(prefix)}
    kind, kernel, _, heads = args["encoder_branch_type"][index].split(":")
    kernel_size = args["encoder_kernel_size_list"][layer] if kernel == "default" else int(kernel)
    glu = args["encoder_glu"] and kind == "dynamic"
    return branch_weights, int(heads), kernel_size, kernel_size // 2, glu


def test_imported_encoder_leaks_padding_as_the_official_order_does(ref, tmp_path):
    """Every encoder conv branch of the imported model computes the official order (padding zeroed,
    then linear1/GLU, then the convolution, no re-masking), checked against a reference on the
    official tensors to 1e-6; the leak sits in the k//2 real positions next to the padding only."""
    weights = with_conv_input_biases(ref["state_dict"])
    save_official(tmp_path / "official.pt", ref["args"], weights)
    import_official(tmp_path / "official.pt", tmp_path / "ours.pt")
    model = load_imported(tmp_path / "ours.pt", ref)
    leaked = 0
    for src in (ref["src_tokens"], ref["src_tokens_right_padded"]):
        with torch.no_grad(), BranchCalls(model.encoder) as calls:
            model.encoder(src, ref["src_lengths"])
        assert len(calls) == len(model.encoder.layers)
        leaked += check_official_leak(
            [("encoder." + name, *call) for name, *call in calls],
            lambda name: official_branch(ref["args"], weights, name))
    assert leaked > 0


def test_without_the_compatibility_option_padding_changes_nothing(imported, ref):
    correct = load_imported(imported, ref, official_padding=False)
    official = load_imported(imported, ref)
    for model in (correct, official):
        perturb_conv_input_biases(model)
    assert padding_dependence(correct, ref) <= TOLERANCE
    # The same check fails with the option on: the leak it reproduces is really there.
    assert padding_dependence(official, ref) > TOLERANCE


@pytest.fixture(scope="module")
def iwslt():
    return reference_outputs("iwslt160")


# Layouts that official checkpoints also come in: an early spelling, and the lightweight kernels of
# the official CUDA layer (H x K, where the CPU module keeps H x 1 x K).
VARIANTS = {
    "branchs": lambda key, t: (key.replace(".branches.", ".branchs."), t),
    "cuda_kernels": lambda key, t: (key, t.squeeze(1) if key.endswith("branches.1.weight") else t),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_other_official_layouts_import_alike(variant, iwslt, tmp_path):
    weights = dict(VARIANTS[variant](key, t) for key, t in iwslt["state_dict"].items())
    assert weights.keys() != iwslt["state_dict"].keys() or any(  # the layout really differs
        t.shape != iwslt["state_dict"][key].shape for key, t in weights.items())
    save_official(tmp_path / "official.pt", iwslt["args"], weights)
    import_official(tmp_path / "official.pt", tmp_path / "ours.pt")
    model = load_imported(tmp_path / "ours.pt", iwslt)
    with torch.no_grad():
        logits = model(iwslt["src_tokens"], iwslt["src_lengths"], iwslt["prev_output_tokens"])[0]
    assert (logits - iwslt["logits_full"]).abs().max() <= TOLERANCE


def plain_transformer_weights():
    model = build_registered_model("transformer_iwslt_de_en", DictionaryTask(30, 25), encoder_layers=1,
                                   decoder_layers=1, encoder_embed_dim=16, decoder_embed_dim=16)
    return model.state_dict()


def without(weights, key):
    return {k: v for k, v in weights.items() if k != key}


FC1_BIAS = "decoder.layers.2.fc1.bias"
CONV_BIAS = "encoder.layers.0.self_attn.branches.1.bias"
# name -> (how to make the bad file from the fixture's args and weights, what the error must say)
BAD_FILES = {
    "plain fairseq 0.8 transformer": (
        lambda a, w: {"args": Namespace(**dict(a, arch="transformer_iwslt_de_en")),
                      "model": plain_transformer_weights()},
        "'transformer_iwslt_de_en' is not a Lite Transformer"),
    "current fairseq transformer": (
        lambda a, w: {"cfg": {"model": {"_name": "transformer_iwslt_de_en"}}, "args": None,
                      "model": plain_transformer_weights()},
        "current fairseq checkpoint"),
    "missing tensor": (lambda a, w: {"args": Namespace(**a), "model": without(w, FC1_BIAS)},
                       f"no official source: {FC1_BIAS}"),
    "extra tensor": (lambda a, w: {"args": Namespace(**a), "model": dict(w, **{CONV_BIAS: torch.zeros(80)})},
                     f"unused official tensors: {CONV_BIAS}"),
    "wrong shape": (lambda a, w: {"args": Namespace(**a),
                                  "model": dict(w, **{"decoder.embed_out": w["decoder.embed_out"][1:]})},
                    r"decoder.embed_out \(99, 160\) -> decoder.output_projection.weight \(100, 160\)"),
    "unsupported option": (lambda a, w: {"args": Namespace(**dict(a, encoder_learned_pos=True)), "model": w},
                           "unsupported option encoder_learned_pos=True"),
    "foreign object": (lambda a, w: {"args": Namespace(**a), "model": w, "extra_state": {"hook": os.system}},
                       r"holds \w+\.system, .* not unpickled"),
    "not a dict": (lambda a, w: list(w.values()), "holds a list"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_is_refused_with_a_clear_error(case, iwslt, tmp_path):
    make, message = BAD_FILES[case]
    torch.save(make(iwslt["args"], iwslt["state_dict"]), tmp_path / "bad.pt")
    with pytest.raises(OfficialCheckpointError, match=message):
        import_official(tmp_path / "bad.pt", tmp_path / "out.pt")
    assert not (tmp_path / "out.pt").exists()


def test_truncated_file_is_refused(iwslt, tmp_path):
    save_official(tmp_path / "official.pt", iwslt["args"], iwslt["state_dict"])
    data = (tmp_path / "official.pt").read_bytes()
    (tmp_path / "truncated.pt").write_bytes(data[:len(data) // 2])
    with pytest.raises(OfficialCheckpointError, match="not a readable PyTorch checkpoint"):
        import_official(tmp_path / "truncated.pt", tmp_path / "out.pt")


def test_command_line(iwslt, tmp_path, capsys):
    save_official(tmp_path / "official.pt", iwslt["args"], iwslt["state_dict"])
    main([str(tmp_path / "official.pt"), str(tmp_path / "ours.pt")])
    out = capsys.readouterr().out
    assert "imported transformer_multibranch_v2_iwslt_de_en" in out and "--official-padding" in out
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "ours.pt"), str(tmp_path / "again.pt")])
    assert exit_info.value.code == 2
    assert re.match(r"lsra-import-official: error: \S+ours.pt: this is a current fairseq checkpoint",
                    capsys.readouterr().err)


def test_fairseq_generate_finds_the_official_hypotheses(iwslt, tmp_path, capsys):
    """The command-line path: fairseq-generate (its main, in this process to save a start-up)
    loads the imported checkpoint through --user-dir and finds the official best beam-4
    hypotheses; it prints scores in base 2 and drops <s>."""
    save_official(tmp_path / "official.pt", iwslt["args"], iwslt["state_dict"])
    import_official(tmp_path / "official.pt", tmp_path / "ours.pt")
    task, data = translation_task(iwslt), tmp_path / "data"
    data.mkdir()
    src, tgt = iwslt["args"]["source_lang"], iwslt["args"]["target_lang"]
    for lang, dictionary_, rows in ((src, task.source_dictionary, iwslt["src_tokens"]),
                                    (tgt, task.target_dictionary, iwslt["target"])):
        dictionary_.save(str(data / f"dict.{lang}.txt"))
        (data / f"test.{src}-{tgt}.{lang}").write_text(
            "".join(dictionary_.string(row[row.ne(iwslt["pad"])]) + "\n" for row in rows))
    args = options.parse_args_and_arch(options.get_generation_parser(), [
        str(data), "--user-dir", str(USER_DIR), "--path", str(tmp_path / "ours.pt"),
        "--dataset-impl", "raw", "-s", src, "-t", tgt, "--gen-subset", "test", "--beam", "4",
        "--max-len-a", "0", "--max-len-b", "10", "--lenpen", "1", "--min-len", "1", "--batch-size", "3",
        "--required-batch-size-multiple", "1", "--cpu"])
    generate.main(args)
    out = capsys.readouterr().out
    hyps = {int(i): (float(score), text) for i, score, text in
            re.findall(r"^H-(\d+)\t(\S+)\t(.*)$", out, flags=re.M)}
    positional = {int(i): [float(v) for v in values.split()] for i, values in
                  re.findall(r"^P-(\d+)\t(.*)$", out, flags=re.M)}
    assert sorted(hyps) == list(range(len(iwslt["gen_beam4"]))), out[-3000:]
    for i, official in enumerate(hyp[0] for hyp in iwslt["gen_beam4"]):
        tokens = official["tokens"]
        assert hyps[i][1] == task.target_dictionary.string(tokens[tokens.ne(iwslt["bos"])])
        assert abs(hyps[i][0] - official["score"] / math.log(2)) <= TOLERANCE
        printed = torch.tensor(positional[i])  # printed with 4 decimals
        assert (printed - official["positional_scores"] / math.log(2)).abs().max() <= 1e-4

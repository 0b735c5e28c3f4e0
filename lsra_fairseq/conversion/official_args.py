"""The official checkpoint's ``args`` (a fairseq 0.8 Namespace) as our model and task options.

Only arguments that shape the model's computation are translated. Training-only ones (optimizer,
schedule, data loading, weight initialisers) stay behind: an imported checkpoint carries trained
weights, and whoever fine-tunes it chooses the training setup again. An argument whose official
value our models cannot reproduce is refused rather than approximated.
"""
from argparse import Namespace
from typing import Any, Dict, Iterable


class OfficialCheckpointError(ValueError):
    """A file the official-checkpoint importer refuses; the message names the problem."""


TRANSLATION_ARCH = "transformer_multibranch_v2"
LM_ARCH = "transformer_lm_multibranch_v2"

# Our options with the official name and meaning, copied unchanged (per side: "{side}_{name}").
COMMON_OPTIONS = ("dropout", "attention_dropout", "weight_dropout", "share_decoder_input_output_embed",
                  "max_target_positions")
TRANSLATION_OPTIONS = COMMON_OPTIONS + ("decoder_attention_heads", "share_all_embeddings",
                                        "max_source_positions")
LM_OPTIONS = COMMON_OPTIONS + ("tokens_per_sample", "adaptive_input", "adaptive_input_factor",
                               "adaptive_input_cutoff", "adaptive_softmax_cutoff",
                               "adaptive_softmax_dropout", "adaptive_softmax_factor",
                               "tie_adaptive_weights", "tie_adaptive_proj", "no_decoder_final_norm")
SIDE_OPTIONS = ("embed_dim", "ffn_embed_dim", "layers", "normalize_before")

# Official arguments whose only value we reproduce: name -> (that value, what the others need).
FIXED = {
    "activation_fn": ("relu", "only the ReLU FFN is implemented"),
    "encoder_learned_pos": (False, "learned positional embeddings are not implemented"),
    "decoder_learned_pos": (False, "learned positional embeddings are not implemented"),
    "no_token_positional_embeddings": (False, "models without positional embeddings are not implemented"),
    "encoder_decoder_branch_type": (None, "multi-branch encoder-decoder attention is not implemented"),
    "adaptive_input": (False, "adaptive input belongs to the language model, not to translation"),
    "adaptive_softmax_cutoff": (None, "adaptive softmax belongs to the language model, not to translation"),
    "character_embeddings": (False, "character embeddings are not implemented"),
}
TRANSLATION_FIXED = ("activation_fn", "encoder_learned_pos", "decoder_learned_pos",
                     "no_token_positional_embeddings", "encoder_decoder_branch_type", "adaptive_input",
                     "adaptive_softmax_cutoff")
LM_FIXED = ("activation_fn", "decoder_learned_pos", "no_token_positional_embeddings",
            "character_embeddings")
# fairseq's translation-task settings that the official args record under the same names.
TRANSLATION_TASK_FIELDS = ("data", "source_lang", "target_lang", "left_pad_source", "left_pad_target",
                           "max_source_positions", "max_target_positions", "truncate_source",
                           "upsample_primary")
LM_TASK_FIELDS = ("data", "sample_break_mode", "tokens_per_sample", "output_dictionary_size",
                  "self_target", "future_target", "past_target", "add_bos_token", "max_target_positions")


def official_task(args: Namespace) -> str:
    """'translation' or 'language_modeling', from the official architecture name."""
    arch = getattr(args, "arch", None)
    if isinstance(arch, str) and arch.startswith(LM_ARCH):
        return "language_modeling"
    if isinstance(arch, str) and arch.startswith(TRANSLATION_ARCH):
        return "translation"
    raise OfficialCheckpointError(
        f"architecture {arch!r} is not a Lite Transformer one: official names start with "
        f"{TRANSLATION_ARCH!r} (translation, summarization) or {LM_ARCH!r} (language model)")


def required(args: Namespace, name: str) -> Any:
    if not hasattr(args, name):
        raise OfficialCheckpointError(
            f"args lack {name!r}, which every official Lite Transformer checkpoint records")
    return getattr(args, name)


def check_fixed(args: Namespace, names: Iterable[str]) -> None:
    for name in names:
        value, why = FIXED[name]
        if getattr(args, name, value) != value:
            raise OfficialCheckpointError(f"unsupported option {name}={getattr(args, name)!r}: {why}")


def side_options(args: Namespace, side: str) -> Dict[str, Any]:
    """The ``{side}_*`` options of one LSRA stack (encoder or decoder)."""
    branches = required(args, f"{side}_branch_type")
    if branches is None:
        raise OfficialCheckpointError(
            f"{side}_branch_type is not set: the checkpoint holds a plain transformer {side}, not LSRA")
    branches = [branches] if isinstance(branches, str) else list(branches)
    conv_types = {spec.split(":")[0].strip() for spec in branches} - {"attn"}
    # The official code hands --glu to its dynamic convolutions only; lightweight ones ignore it.
    glu = bool(required(args, f"{side}_glu")) and "dynamic" in conv_types
    if glu and "lightweight" in conv_types:
        raise OfficialCheckpointError(
            f"unsupported: {side}_glu with both lightweight and dynamic branches (the official code "
            f"gates only the dynamic ones; our GLU option covers every conv branch of a side)")
    options = {f"{side}_{name}": required(args, f"{side}_{name}") for name in SIDE_OPTIONS}
    options.update({
        f"{side}_branch_type": ",".join(spec.strip() for spec in branches),
        f"{side}_kernel_size_list": ",".join(str(k) for k in required(args, f"{side}_kernel_size_list")),
        f"{side}_glu": glu,
    })
    return options


def conv_options(args: Namespace) -> Dict[str, Any]:
    """Options of the conv branches and FFN that both our models share."""
    return {
        # The official FFN falls back to the older name when --activation-dropout is 0.
        "activation_dropout": getattr(args, "activation_dropout", 0.0) or getattr(args, "relu_dropout", 0.0),
        "no_conv_linear": not required(args, "conv_linear"),
        "no_weight_softmax": not required(args, "weight_softmax"),
    }


def translation_options(args: Namespace) -> Dict[str, Any]:
    """``lite_transformer`` options reproducing the official model (padding leak included)."""
    check_fixed(args, TRANSLATION_FIXED)
    options = {name: required(args, name) for name in TRANSLATION_OPTIONS}
    for side in ("encoder", "decoder"):
        options.update(side_options(args, side))
    options.update(conv_options(args), official_padding=True)
    return options


def lm_options(args: Namespace) -> Dict[str, Any]:
    """``lite_transformer_lm`` options reproducing the official language model."""
    check_fixed(args, LM_FIXED)
    embed_dim = required(args, "decoder_embed_dim")
    for name in ("decoder_input_dim", "decoder_output_dim"):
        if getattr(args, name, embed_dim) != embed_dim:
            raise OfficialCheckpointError(f"unsupported option {name}={getattr(args, name)} != "
                                          f"decoder_embed_dim={embed_dim}: no projections are implemented")
    options = side_options(args, "decoder")
    del options["decoder_normalize_before"]  # the official LM forces pre-norm; ours is always pre-norm
    options.update({name: required(args, name) for name in LM_OPTIONS})
    options.update(conv_options(args))
    return options


def task_options(args: Namespace, names: Iterable[str]) -> Dict[str, Any]:
    """The fairseq task settings that the official args record under our names."""
    return {name: getattr(args, name) for name in names if hasattr(args, name)}

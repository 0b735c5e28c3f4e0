"""Named architectures: the paper's configurations (spec §3) as one table.

``--arch NAME`` alone gives the paper's model; any flag given on the command line still wins.
Registered names are part of saved checkpoints and must never change.
"""
from dataclasses import fields

from fairseq.models import register_model_architecture
from fairseq.utils import safe_hasattr

from .lite_transformer import LiteTransformerConfig, default_branches

# name -> (embed dim, conv type, glu, dropout, attention dropout, weight dropout,
#          encoder-decoder heads, share all embeddings)
PAPER_CONFIGS = {
    "lite_transformer_iwslt_de_en_160": (160, "lightweight", False, 0.2, 0.0, 0.1, 4, False),
    "lite_transformer_iwslt_de_en_240": (240, "lightweight", False, 0.2, 0.0, 0.1, 4, False),
    "lite_transformer_iwslt_de_en_320": (320, "lightweight", False, 0.2, 0.0, 0.1, 4, False),
    "lite_transformer_wmt_en_de_200": (200, "dynamic", True, 0.04, 0.03, 0.03, 8, True),
    "lite_transformer_wmt_en_de_408": (408, "dynamic", True, 0.08, 0.06, 0.06, 8, True),
    "lite_transformer_wmt_en_de_496": (496, "dynamic", True, 0.1, 0.08, 0.08, 8, True),
    "lite_transformer_wmt_en_fr_200": (200, "dynamic", True, 0.04, 0.03, 0.03, 8, True),
    "lite_transformer_wmt_en_fr_408": (408, "dynamic", True, 0.08, 0.07, 0.07, 8, True),
    "lite_transformer_wmt_en_fr_496": (496, "dynamic", True, 0.1, 0.08, 0.08, 8, True),
    "lite_transformer_cnndm_496": (496, "dynamic", True, 0.15, 0.1, 0.1, 8, True),
}


def paper_defaults(embed_dim, conv_type, glu, dropout, attention_dropout, weight_dropout,
                   encoder_decoder_heads, share_all):
    """The option values of one paper configuration (the same for encoder and decoder)."""
    branches = default_branches(embed_dim, conv_type)
    defaults = {"dropout": dropout, "attention_dropout": attention_dropout,
                "weight_dropout": weight_dropout, "conv_type": conv_type,
                "decoder_attention_heads": encoder_decoder_heads, "share_all_embeddings": share_all}
    for side in ("encoder", "decoder"):
        defaults.update({f"{side}_embed_dim": embed_dim, f"{side}_ffn_embed_dim": embed_dim,
                         f"{side}_layers": 6, f"{side}_branch_type": branches, f"{side}_glu": glu})
    return defaults


def set_unset(args, defaults):
    """Sets each option the user left unset (absent or None); given flags keep their value."""
    for name, value in defaults.items():
        if not safe_hasattr(args, name):
            setattr(args, name, value)


def is_interpolation(value) -> bool:
    """A dataclass default such as ``II("task.tokens_per_sample")``: the string ``${task...}``."""
    return isinstance(value, str) and value.startswith("${") and value.endswith("}")


def apply_defaults(args, defaults, config_class=LiteTransformerConfig):
    """``defaults`` for the options the user left unset, then the dataclass's own defaults.

    Interpolated defaults (``${task.max_target_positions}``) are left unset: fairseq fills them
    from the task. Copied into ``args`` they would also become the task's value of that option
    (fairseq reads task options from the same namespace), which then points at itself.
    """
    set_unset(args, defaults)
    # A hydra config may name only a few options: fill the rest from the dataclass.
    config = config_class()
    values = {option.name: getattr(config, option.name) for option in fields(config)}
    set_unset(args, {name: value for name, value in values.items()
                     if value is not None and not is_interpolation(value)})


def _register(name, defaults):
    register_model_architecture("lite_transformer", name)(lambda args: apply_defaults(args, defaults))


_register("lite_transformer_base", {})
for _name, _config in PAPER_CONFIGS.items():
    _register(_name, paper_defaults(*_config))

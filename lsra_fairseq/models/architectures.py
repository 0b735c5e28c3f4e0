"""Named architectures: the paper's Lite Transformer configurations as one table of named rows.

``--arch NAME`` alone gives the paper's model; any flag given on the command line still wins.
Registered names are part of saved checkpoints and must never change.
"""
from dataclasses import fields
from functools import partial

from fairseq.models import register_model_architecture
from fairseq.utils import safe_hasattr

from .lite_transformer import LiteTransformerConfig, default_branches

# What the rows of one benchmark share (the paper's experimental setup; the official code's configs).
IWSLT = dict(conv_type="lightweight", glu=False, dropout=0.2, attention_dropout=0.0, weight_dropout=0.1,
             decoder_attention_heads=4, share_all_embeddings=False)
WMT = dict(conv_type="dynamic", glu=True, decoder_attention_heads=8, share_all_embeddings=True)

# name -> the options of ``paper_defaults``; the comment gives the paper's #Params and #MACs
# (Table 1: IWSLT'14 De-En, Table 2: WMT'14 En-De and En-Fr, Table 4: CNN-DailyMail), which
# ``lsra-profile --paper`` measures.
PAPER_CONFIGS = {
    "lite_transformer_iwslt_de_en_160": dict(IWSLT, embed_dim=160),  # 2.8M params, 54M MACs
    "lite_transformer_iwslt_de_en_240": dict(IWSLT, embed_dim=240),  # 5.4M params, 119M MACs
    "lite_transformer_iwslt_de_en_320": dict(IWSLT, embed_dim=320),  # 8.9M params, 209M MACs
    "lite_transformer_wmt_en_de_200":  # 2.9M params, 90M MACs
        dict(WMT, embed_dim=200, dropout=0.04, attention_dropout=0.03, weight_dropout=0.03),
    "lite_transformer_wmt_en_de_408":  # 11.7M params, 360M MACs
        dict(WMT, embed_dim=408, dropout=0.08, attention_dropout=0.06, weight_dropout=0.06),
    "lite_transformer_wmt_en_de_496":  # 17.3M params, 527M MACs
        dict(WMT, embed_dim=496, dropout=0.1, attention_dropout=0.08, weight_dropout=0.08),
    "lite_transformer_wmt_en_fr_200":  # 2.9M params, 90M MACs
        dict(WMT, embed_dim=200, dropout=0.04, attention_dropout=0.03, weight_dropout=0.03),
    "lite_transformer_wmt_en_fr_408":  # 11.7M params, 360M MACs
        dict(WMT, embed_dim=408, dropout=0.08, attention_dropout=0.07, weight_dropout=0.07),
    "lite_transformer_wmt_en_fr_496":  # 17.3M params, 527M MACs
        dict(WMT, embed_dim=496, dropout=0.1, attention_dropout=0.08, weight_dropout=0.08),
    "lite_transformer_cnndm_496":  # 17.3M params, 0.8G MACs
        dict(WMT, embed_dim=496, dropout=0.15, attention_dropout=0.1, weight_dropout=0.1),
}


def paper_defaults(embed_dim: int, glu: bool, conv_type: str, **options) -> dict:
    """The option values of one paper row: ``embed_dim`` (also the FFN's width) and ``glu`` hold
    for the encoder and the decoder alike, each 6 layers of the default branch split."""
    branches = default_branches(embed_dim, conv_type)
    defaults = dict(options, conv_type=conv_type)
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


def register(model: str, arch: str, defaults: dict, config_class=LiteTransformerConfig) -> None:
    """Registers ``arch`` of ``model``: ``defaults``, then ``config_class``'s, for unset options."""
    register_model_architecture(model, arch)(
        partial(apply_defaults, defaults=defaults, config_class=config_class))


register("lite_transformer", "lite_transformer_base", {})
for _name, _row in PAPER_CONFIGS.items():
    register("lite_transformer", _name, paper_defaults(**_row))

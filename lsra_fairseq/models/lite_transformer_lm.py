"""``lite_transformer_lm``: a decoder-only Lite Transformer (pre-norm, causal LSRA blocks).

The decoder is ``LiteTransformerDecoder`` without encoder attention; the LM adds fairseq's
``AdaptiveInput`` / ``AdaptiveSoftmax`` (optionally tied) for large vocabularies. It works with
fairseq's ``language_modeling`` task: ``fairseq-train`` (``--criterion adaptive_loss`` with an
adaptive softmax, ``cross_entropy`` otherwise), ``fairseq-eval-lm`` and sampling with
``fairseq-interactive`` / ``fairseq-generate`` (incremental decoding).

#Params convention (the paper counts parameters without the word-embedding tables): with adaptive input and a
tied adaptive softmax, the word representation is the two adaptive modules together (embedding
bands, their projections to d, the softmax's cluster rows), so the LM's #Params leaves out every
parameter of ``embed_tokens`` and ``adaptive_softmax``
(``profiling.count_params(model, Conventions(output_params=False))``). That gives 37.18M for
``lite_transformer_lm_wiki103`` (paper: 37.2M): the 12 LSRA blocks. Counting the band projections
as well would give 38.23M, which does not round to the paper's figure.
"""
from dataclasses import dataclass, field, fields
from typing import List, Optional

from fairseq.dataclass import FairseqDataclass
from fairseq.models import FairseqLanguageModel, register_model
from fairseq.modules import AdaptiveInput, AdaptiveSoftmax
from omegaconf import II

from .architectures import register
from .lite_transformer import (LiteTransformerConfig, LiteTransformerDecoder, LSRADecoderConfig,
                               default_branches, embedding, parse_int_list)

# The official code's kernel size per layer of the paper's 12-layer WikiText-103 LM (Table 5).
LM_KERNEL_SIZES = "15,15,31,31,31,31,63,63,63,63,63,63"
DEFAULT_MAX_TARGET_POSITIONS = 1024
# The decoder options the LM hands to its decoder. The LM has no encoder and no encoder-decoder
# attention, and it is always pre-norm, so ``decoder_normalize_before`` is not an option here.
DECODER_OPTIONS = [f.name for f in fields(LSRADecoderConfig)
                   if f.name not in {g.name for g in fields(FairseqDataclass)}]


@dataclass
class LiteTransformerLMConfig(LSRADecoderConfig):
    # The translation model's decoder options, with the paper LM's depth and kernel list as defaults.
    decoder_layers: int = field(default=12, metadata={"help": "number of decoder layers"})
    decoder_kernel_size_list: str = field(
        default=LM_KERNEL_SIZES, metadata={"help": "comma-separated kernel size per decoder layer"})
    adaptive_input: bool = field(default=False, metadata={"help": "adaptive input embeddings"})
    adaptive_input_factor: float = field(
        default=4, metadata={"help": "each adaptive input band's dimension is the previous one's / factor"})
    adaptive_input_cutoff: Optional[str] = field(
        default=None, metadata={"help": "comma-separated adaptive input cutoffs, e.g. 20000,60000"})
    adaptive_softmax_cutoff: Optional[str] = field(
        default=None, metadata={"help": "comma-separated adaptive softmax cutoffs, e.g. 20000,60000 "
                                        "(train with --criterion adaptive_loss)"})
    adaptive_softmax_dropout: float = field(
        default=0.0, metadata={"help": "dropout in the adaptive softmax's tail projections"})
    adaptive_softmax_factor: float = field(default=4, metadata={"help": "adaptive softmax factor"})
    tie_adaptive_weights: bool = field(
        default=False, metadata={"help": "tie the adaptive softmax's word weights to the adaptive input"})
    tie_adaptive_proj: bool = field(
        default=False, metadata={"help": "tie the adaptive softmax's tail projections to the adaptive "
                                         "input's (with --tie-adaptive-weights)"})
    no_decoder_final_norm: bool = field(
        default=False, metadata={"help": "no LayerNorm after the last (pre-norm) block, as in the "
                                         "official WikiText-103 model"})
    tokens_per_sample: int = II("task.tokens_per_sample")
    max_target_positions: Optional[int] = II("task.max_target_positions")


def _as_int(value) -> Optional[int]:
    """An int option, or None where it is unset or still an unresolved ``${task...}`` reference."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def check_adaptive_options(cfg, vocab_size: int) -> None:
    """Stops on adaptive options that cannot work, before any weight is built."""
    for option in ("adaptive_input_cutoff", "adaptive_softmax_cutoff"):
        value = getattr(cfg, option)
        if value and parse_int_list(value)[-1] > vocab_size:
            raise ValueError(f"--{option.replace('_', '-')} {value}: the last cutoff must not exceed "
                             f"the dictionary size ({vocab_size})")
    if cfg.adaptive_input and not cfg.adaptive_input_cutoff:
        raise ValueError("--adaptive-input needs --adaptive-input-cutoff (e.g. 20000,60000)")
    if cfg.share_decoder_input_output_embed and (cfg.adaptive_input or cfg.adaptive_softmax_cutoff):
        raise ValueError("--share-decoder-input-output-embed ties a plain embedding to a plain output "
                         "matrix; with adaptive input/softmax use --tie-adaptive-weights")
    if cfg.tie_adaptive_weights:
        if not (cfg.adaptive_input and cfg.adaptive_softmax_cutoff):
            raise ValueError("--tie-adaptive-weights needs --adaptive-input and --adaptive-softmax-cutoff")
        if parse_int_list(cfg.adaptive_input_cutoff) != parse_int_list(cfg.adaptive_softmax_cutoff):
            raise ValueError(f"--tie-adaptive-weights needs equal cutoffs: input "
                             f"{cfg.adaptive_input_cutoff} != softmax {cfg.adaptive_softmax_cutoff}")
        if float(cfg.adaptive_input_factor) != float(cfg.adaptive_softmax_factor):
            raise ValueError(f"--tie-adaptive-weights needs equal factors: input "
                             f"{cfg.adaptive_input_factor} != softmax {cfg.adaptive_softmax_factor}")
    if cfg.tie_adaptive_proj and not cfg.tie_adaptive_weights:
        raise ValueError("--tie-adaptive-proj needs --tie-adaptive-weights")


@register_model("lite_transformer_lm", dataclass=LiteTransformerLMConfig)
class LiteTransformerLanguageModel(FairseqLanguageModel):
    """Lite Transformer language model (Wu et al., ICLR 2020, Table 5)."""

    @classmethod
    def build_model(cls, cfg, task):
        dictionary = task.source_dictionary
        check_adaptive_options(cfg, len(dictionary))
        max_positions = (_as_int(getattr(cfg, "max_target_positions", None))
                         or _as_int(getattr(cfg, "tokens_per_sample", None)) or DEFAULT_MAX_TARGET_POSITIONS)
        # The decoder takes the translation model's config: the reused options, pre-norm blocks.
        decoder_cfg = LiteTransformerConfig(
            **{name: getattr(cfg, name) for name in DECODER_OPTIONS},
            decoder_normalize_before=True, max_target_positions=max_positions)
        dim = cfg.decoder_embed_dim
        if cfg.adaptive_input:
            embed_tokens = AdaptiveInput(len(dictionary), dictionary.pad(), dim, cfg.adaptive_input_factor,
                                         dim, parse_int_list(cfg.adaptive_input_cutoff))
        else:
            embed_tokens = embedding(len(dictionary), dim, dictionary.pad())
        adaptive_softmax = None
        if cfg.adaptive_softmax_cutoff:
            adaptive_softmax = AdaptiveSoftmax(
                len(dictionary), dim, parse_int_list(cfg.adaptive_softmax_cutoff),
                dropout=cfg.adaptive_softmax_dropout, factor=cfg.adaptive_softmax_factor,
                adaptive_inputs=embed_tokens if cfg.tie_adaptive_weights else None,
                tie_proj=cfg.tie_adaptive_proj)
        decoder = LiteTransformerDecoder(decoder_cfg, task.target_dictionary, embed_tokens,
                                         encoder_attention_heads=0, adaptive_softmax=adaptive_softmax)
        if cfg.no_decoder_final_norm:
            decoder.layer_norm = None  # the pre-norm decoder's final LayerNorm, left out
        return cls(decoder)


# name -> option values; registered names never change. The paper's WikiText-103 LM (Table 5):
# attn d/2 + dynamic d/2 (4 heads each) with GLU, FFN = d, the 12 layers and kernel sizes of
# LiteTransformerLMConfig's defaults, and adaptive input + adaptive softmax with tied weights and
# projections. The official model (arch ``transformer_lm_multibranch_v2_wiki103_small``) also sets
# what the paper leaves out: adaptive softmax dropout 0.2, activation dropout 0.1, no LayerNorm
# after the last block.
LM_PAPER_CONFIGS = {
    "lite_transformer_lm_wiki103": dict(  # 37.2M params, 1147M MACs
        decoder_embed_dim=896, decoder_ffn_embed_dim=896,
        decoder_branch_type=default_branches(896, "dynamic"), decoder_glu=True, conv_type="dynamic",
        dropout=0.21, attention_dropout=0.14, weight_dropout=0.14,
        adaptive_input=True, adaptive_input_cutoff="20000,60000", adaptive_input_factor=4,
        adaptive_softmax_cutoff="20000,60000", adaptive_softmax_factor=4,
        tie_adaptive_weights=True, tie_adaptive_proj=True,
        adaptive_softmax_dropout=0.2, activation_dropout=0.1, no_decoder_final_norm=True),
}

for _name, _defaults in LM_PAPER_CONFIGS.items():
    register("lite_transformer_lm", _name, _defaults, LiteTransformerLMConfig)

__all__: List[str] = ["LiteTransformerLMConfig", "LiteTransformerLanguageModel", "LM_PAPER_CONFIGS"]

"""``lite_transformer``: the Lite Transformer encoder-decoder (LSRA blocks) for fairseq."""
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from fairseq.dataclass import ChoiceEnum, FairseqDataclass
from fairseq.models import (FairseqEncoder, FairseqEncoderDecoderModel, FairseqIncrementalDecoder,
                            register_model)
from fairseq.modules import PositionalEmbedding
from torch import Tensor, nn

from ..generation.hub import use_fast_generator
from ..modules import LSRALayer, check_kernel_sizes, parse_branches
from ..modules.branch_spec import BRANCH_TYPES
from ..modules.dropout import dropout

DEFAULT_KERNEL_SIZES = "3,7,15,31,31,31"
ConvType = ChoiceEnum([t for t in BRANCH_TYPES if t != "attn"])


@dataclass
class LSRADecoderConfig(FairseqDataclass):
    """The options of a stack of causal LSRA blocks: the translation decoder's, and the LM's."""
    dropout: float = field(default=0.1, metadata={"help": "dropout after every sublayer"})
    attention_dropout: float = field(default=0.08, metadata={"help": "dropout on attention weights"})
    activation_dropout: float = field(default=0.0, metadata={"help": "dropout after the FFN's ReLU"})
    weight_dropout: float = field(default=0.08, metadata={"help": "DropConnect on convolution taps"})
    # Options that are on by default are spelled as their negation: fairseq turns a boolean option
    # into a store_true flag, so only a False default can be switched on from the command line.
    no_weight_softmax: bool = field(default=False, metadata={"help": "do not softmax-normalise conv taps"})
    no_conv_linear: bool = field(default=False, metadata={"help": "no Linear before and after each conv"})
    conv_type: ConvType = field(
        default="dynamic",
        metadata={"help": "convolution of the default branch split (attn d/2 + conv d/2, 4 heads each); "
                          "ignored where --encoder/decoder-branch-type is given"})
    decoder_embed_dim: int = field(default=496, metadata={"help": "decoder embedding dimension"})
    decoder_ffn_embed_dim: int = field(default=496, metadata={"help": "decoder FFN hidden dimension"})
    decoder_layers: int = field(default=6, metadata={"help": "number of decoder layers"})
    decoder_branch_type: str = field(
        default="", metadata={"help": "comma-separated causal LSRA branches type:kernel:dim:heads, e.g. "
                                      "'attn:1:80:4,lightweight:default:80:4' (empty: the default split)"})
    decoder_kernel_size_list: str = field(
        default=DEFAULT_KERNEL_SIZES, metadata={"help": "comma-separated kernel size per decoder layer"})
    decoder_glu: bool = field(default=False, metadata={"help": "Linear(c -> 2c) + GLU before decoder convs"})
    share_decoder_input_output_embed: bool = field(
        default=False, metadata={"help": "tie the decoder output matrix to its input embedding"})


@dataclass
class LiteTransformerConfig(LSRADecoderConfig):
    encoder_embed_dim: int = field(default=496, metadata={"help": "encoder embedding dimension"})
    encoder_ffn_embed_dim: int = field(default=496, metadata={"help": "encoder FFN hidden dimension"})
    encoder_layers: int = field(default=6, metadata={"help": "number of encoder layers"})
    encoder_branch_type: str = field(
        default="", metadata={"help": "comma-separated LSRA branches type:kernel:dim:heads, e.g. "
                                      "'attn:1:80:4,lightweight:default:80:4' (empty: the default split)"})
    encoder_kernel_size_list: str = field(
        default=DEFAULT_KERNEL_SIZES, metadata={"help": "comma-separated kernel size per encoder layer"})
    encoder_glu: bool = field(default=False, metadata={"help": "Linear(c -> 2c) + GLU before encoder convs"})
    encoder_normalize_before: bool = field(default=False, metadata={"help": "pre-norm encoder blocks"})
    decoder_normalize_before: bool = field(default=False, metadata={"help": "pre-norm decoder blocks"})
    decoder_attention_heads: int = field(default=8, metadata={"help": "encoder-decoder attention heads"})
    share_all_embeddings: bool = field(
        default=False, metadata={"help": "share encoder, decoder and output embeddings "
                                         "(needs a joined dictionary)"})
    max_source_positions: int = field(default=1024, metadata={"help": "longest source sequence"})
    max_target_positions: int = field(default=1024, metadata={"help": "longest target sequence"})
    official_padding: bool = field(
        default=False, metadata={"help": "zero padding before the conv branch's input Linear, as the "
                                         "official code does (lets that bias leak into real tokens); "
                                         "set by the official-checkpoint importer only"})


def parse_int_list(text: Any) -> List[int]:
    """'3,7,15' or '[3, 7, 15]' (or a list) -> [3, 7, 15]."""
    if isinstance(text, (list, tuple)):
        return [int(v) for v in text]
    return [int(v) for v in str(text).strip("[]() ").replace(" ", "").split(",") if v]


def default_branches(embed_dim: int, conv_type: str) -> str:
    half = embed_dim // 2
    return f"attn:1:{half}:4,{conv_type}:default:{embed_dim - half}:4"


def build_layers(cfg: LiteTransformerConfig, side: str, causal: bool,
                 encoder_attention_heads: int = 0) -> nn.ModuleList:
    """Builds the encoder's or decoder's LSRA blocks from the ``{side}_*`` options, checking them first."""
    option = lambda name: getattr(cfg, f"{side}_{name}")  # noqa: E731
    embed_dim, num_layers = option("embed_dim"), option("layers")
    branches = parse_branches(option("branch_type") or default_branches(embed_dim, str(cfg.conv_type)),
                              embed_dim)
    kernels = check_kernel_sizes(parse_int_list(option("kernel_size_list")), num_layers, causal, side)
    return nn.ModuleList(
        LSRALayer(embed_dim=embed_dim, ffn_dim=option("ffn_embed_dim"), branches=branches, kernel_size=kernel,
                  causal=causal, glu=option("glu"), encoder_attention_heads=encoder_attention_heads,
                  normalize_before=option("normalize_before"), dropout=cfg.dropout,
                  attention_dropout=cfg.attention_dropout, activation_dropout=cfg.activation_dropout,
                  weight_dropout=cfg.weight_dropout, weight_softmax=not cfg.no_weight_softmax,
                  conv_linear=not cfg.no_conv_linear, mask_before_linear=cfg.official_padding)
        for kernel in kernels)


def embedding(num_embeddings: int, embed_dim: int, padding_idx: int) -> nn.Embedding:
    """N(0, d^-1/2) with a zero padding row."""
    emb = nn.Embedding(num_embeddings, embed_dim, padding_idx=padding_idx)
    nn.init.normal_(emb.weight, mean=0, std=embed_dim ** -0.5)
    nn.init.zeros_(emb.weight[padding_idx])
    return emb


class TokenInputMixin:
    """Scaled token embedding + sinusoidal positions + dropout, shared by encoder, decoder and LM.

    The modules keep fairseq's names (``embed_tokens``, ``embed_positions``) so checkpoints and
    fairseq's utilities find them where they expect them.
    """

    def init_token_input(self, embed_tokens: nn.Module, embed_dim: int, max_positions: int,
                         dropout: float) -> None:
        self.embed_tokens = embed_tokens
        self.padding_idx = embed_tokens.padding_idx
        self.embed_scale = math.sqrt(embed_dim)
        self.embed_positions = PositionalEmbedding(max_positions, embed_dim, self.padding_idx,
                                                   learned=False)
        self.dropout = dropout

    def embed(self, tokens: Tensor, incremental_state=None) -> Tensor:
        """B x T tokens -> T x B x C inputs (only the last step while decoding incrementally)."""
        positions = self.embed_positions(tokens, incremental_state=incremental_state)
        if incremental_state is not None:
            tokens, positions = tokens[:, -1:], positions[:, -1:]
        x = self.embed_scale * self.embed_tokens(tokens) + positions
        return dropout(x, self.dropout, self.training).transpose(0, 1)


class LiteTransformerEncoder(TokenInputMixin, FairseqEncoder):
    def __init__(self, cfg: LiteTransformerConfig, dictionary, embed_tokens: nn.Module):
        super().__init__(dictionary)
        self.max_source_positions = cfg.max_source_positions
        self.init_token_input(embed_tokens, cfg.encoder_embed_dim, cfg.max_source_positions, cfg.dropout)
        self.layers = build_layers(cfg, "encoder", causal=False)
        self.layer_norm = nn.LayerNorm(cfg.encoder_embed_dim) if cfg.encoder_normalize_before else None

    def forward(self, src_tokens: Tensor, src_lengths: Optional[Tensor] = None,
                return_all_hiddens: bool = False, **unused) -> Dict[str, List[Tensor]]:
        padding_mask = src_tokens.eq(self.padding_idx)
        x = self.embed(src_tokens)
        has_pads = bool(padding_mask.any())
        if has_pads:
            x = x.masked_fill(padding_mask.t().unsqueeze(-1), 0.0)
        states = [x] if return_all_hiddens else []
        for layer in self.layers:
            x, _ = layer(x, padding_mask if has_pads else None)
            if return_all_hiddens:
                states.append(x)
        if self.layer_norm is not None:
            x = self.layer_norm(x)
        return {
            "encoder_out": [x], "encoder_padding_mask": [padding_mask], "encoder_embedding": [],
            "encoder_states": states, "src_tokens": [],
            "src_lengths": [] if src_lengths is None else [src_lengths],
        }

    def reorder_encoder_out(self, encoder_out: Dict[str, List[Tensor]], new_order: Tensor):
        batch_dims = {"encoder_out": 1, "encoder_states": 1}
        return {key: [t.index_select(batch_dims.get(key, 0), new_order) for t in tensors]
                for key, tensors in encoder_out.items()}

    def max_positions(self) -> int:
        return self.max_source_positions


class LiteTransformerDecoder(TokenInputMixin, FairseqIncrementalDecoder):
    """Causal LSRA blocks, with encoder-decoder attention unless ``encoder_attention_heads`` is 0.

    ``embed_tokens`` may be an ``nn.Embedding`` or fairseq's ``AdaptiveInput``; with an
    ``adaptive_softmax`` (fairseq's ``AdaptiveSoftmax``) the decoder returns features, which the
    adaptive softmax (``adaptive_loss`` criterion, ``get_normalized_probs``) turns into scores.
    """

    def __init__(self, cfg: LiteTransformerConfig, dictionary, embed_tokens: nn.Module,
                 encoder_attention_heads: int, adaptive_softmax: Optional[nn.Module] = None):
        super().__init__(dictionary)
        self.max_target_positions = cfg.max_target_positions
        self.init_token_input(embed_tokens, cfg.decoder_embed_dim, cfg.max_target_positions, cfg.dropout)
        self.layers = build_layers(cfg, "decoder", causal=True,
                                   encoder_attention_heads=encoder_attention_heads)
        self.layer_norm = nn.LayerNorm(cfg.decoder_embed_dim) if cfg.decoder_normalize_before else None
        self.adaptive_softmax = adaptive_softmax
        output_projection = None
        if adaptive_softmax is None:
            output_projection = nn.Linear(cfg.decoder_embed_dim, len(dictionary), bias=False)
            if cfg.share_decoder_input_output_embed:
                output_projection.weight = embed_tokens.weight
            else:
                nn.init.normal_(output_projection.weight, mean=0, std=cfg.decoder_embed_dim ** -0.5)
        self.output_projection = output_projection

    def forward(self, prev_output_tokens: Tensor, encoder_out: Optional[Dict[str, List[Tensor]]] = None,
                incremental_state=None, features_only: bool = False, return_all_hiddens: bool = False,
                **unused):
        x, extra = self.extract_features(prev_output_tokens, encoder_out, incremental_state)
        return (x if features_only else self.output_layer(x)), extra

    def extract_features(self, prev_output_tokens: Tensor, encoder_out=None, incremental_state=None,
                         **unused):
        x = self.embed(prev_output_tokens, incremental_state)
        padding_mask = None
        if incremental_state is None and prev_output_tokens.eq(self.padding_idx).any():
            padding_mask = prev_output_tokens.eq(self.padding_idx)
        enc = enc_mask = None
        if encoder_out is not None and encoder_out["encoder_out"]:
            enc = encoder_out["encoder_out"][0]
            enc_mask = encoder_out["encoder_padding_mask"][0] if encoder_out["encoder_padding_mask"] else None
        states, attn = [x], None
        for i, layer in enumerate(self.layers):
            # Alignment weights of the last layer, for --print-alignment and --replace-unk.
            need_attn = not self.training and i == len(self.layers) - 1
            x, attn = layer(x, padding_mask, enc, enc_mask, incremental_state, need_attn)
            states.append(x)
        if self.layer_norm is not None:
            x = self.layer_norm(x)
        return x.transpose(0, 1), {"attn": [attn], "inner_states": states}

    def output_layer(self, features: Tensor) -> Tensor:
        if self.adaptive_softmax is not None:
            return features
        return self.output_projection(features)

    def max_positions(self) -> int:
        return self.max_target_positions


@register_model("lite_transformer", dataclass=LiteTransformerConfig)
class LiteTransformerModel(FairseqEncoderDecoderModel):
    """Lite Transformer (Wu et al., ICLR 2020): a transformer whose self-attention is LSRA."""

    @classmethod
    def from_pretrained(cls, model_name_or_path, checkpoint_file="model.pt", data_name_or_path=".",
                        fast: bool = False, fast_backend: str = "onnx", int8: bool = False, **kwargs):
        """fairseq's hub interface; with ``fast=True`` its ``translate()`` / ``generate()`` decode
        with ``lsra_fairseq.generation.FastGenerator`` (``fast_backend``, ``int8``)."""
        hub = super().from_pretrained(model_name_or_path, checkpoint_file, data_name_or_path, **kwargs)
        if fast:
            use_fast_generator(hub, fast_backend, int8)
        return hub

    @classmethod
    def build_model(cls, cfg, task):
        src_dict, tgt_dict = task.source_dictionary, task.target_dictionary
        if cfg.share_all_embeddings:
            if src_dict != tgt_dict:
                raise ValueError("--share-all-embeddings needs a joined dictionary: binarize with "
                                 "fairseq-preprocess --joined-dictionary")
            if cfg.encoder_embed_dim != cfg.decoder_embed_dim:
                raise ValueError(f"--share-all-embeddings needs --encoder-embed-dim "
                                 f"({cfg.encoder_embed_dim}) == --decoder-embed-dim ({cfg.decoder_embed_dim})")
            encoder_embed = decoder_embed = embedding(len(src_dict), cfg.encoder_embed_dim, src_dict.pad())
            cfg.share_decoder_input_output_embed = True
        else:
            encoder_embed = embedding(len(src_dict), cfg.encoder_embed_dim, src_dict.pad())
            decoder_embed = embedding(len(tgt_dict), cfg.decoder_embed_dim, tgt_dict.pad())
        encoder = LiteTransformerEncoder(cfg, src_dict, encoder_embed)
        decoder = LiteTransformerDecoder(cfg, tgt_dict, decoder_embed, cfg.decoder_attention_heads)
        return cls(encoder, decoder)

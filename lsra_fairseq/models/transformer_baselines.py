"""The paper's Transformer baselines (spec §5) as archs of fairseq's own ``transformer`` model.

Only the sizes are the paper's: every other option comes from the fairseq arch each one scales
down (``transformer_iwslt_de_en``: 4 heads, separate dictionaries, untied output matrix;
``transformer_wmt_en_de``: 8 heads), and any flag given on the command line still wins.
Registered names are part of saved checkpoints and must never change.
"""
from fairseq.models import register_model_architecture
from fairseq.models.transformer import transformer_iwslt_de_en, transformer_wmt_en_de

from .architectures import set_unset

# name -> (embed dim, FFN width as a multiple of it, shared embeddings, fairseq arch scaled down)
BASELINES = {
    "transformer_iwslt_de_en_128": (128, 2, False, transformer_iwslt_de_en),
    "transformer_iwslt_de_en_192": (192, 2, False, transformer_iwslt_de_en),
    "transformer_iwslt_de_en_240": (240, 2, False, transformer_iwslt_de_en),
    "transformer_wmt_128": (128, 4, True, transformer_wmt_en_de),
    "transformer_wmt_256": (256, 4, True, transformer_wmt_en_de),
    "transformer_wmt_320": (320, 4, True, transformer_wmt_en_de),
}


def _register(name, embed_dim, ffn_multiple, share_all, parent):
    defaults = {"share_all_embeddings": share_all}
    for side in ("encoder", "decoder"):
        defaults.update({f"{side}_embed_dim": embed_dim, f"{side}_ffn_embed_dim": ffn_multiple * embed_dim})

    def architecture(args):
        set_unset(args, defaults)
        parent(args)

    register_model_architecture("transformer", name)(architecture)


for _name, _config in BASELINES.items():
    _register(_name, *_config)

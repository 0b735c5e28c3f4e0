"""The paper's Transformer baselines (Tables 1 and 2) as archs of fairseq's own ``transformer`` model.

Only the sizes are the paper's: every other option comes from the fairseq arch each one scales
down (``transformer_iwslt_de_en``: 4 heads, separate dictionaries, untied output matrix;
``transformer_wmt_en_de``: 8 heads), and any flag given on the command line still wins.
Registered names are part of saved checkpoints and must never change.
"""
from fairseq.models import ARCH_CONFIG_REGISTRY, register_model_architecture

from .architectures import set_unset

# What the rows of one benchmark share: the fairseq arch they scale down, the embeddings.
IWSLT = dict(parent_arch="transformer_iwslt_de_en", share_all_embeddings=False)
WMT = dict(parent_arch="transformer_wmt_en_de", share_all_embeddings=True)

# name -> the options of ``_register``, 6 + 6 layers each; the comment gives the paper's #Params
# and #MACs (Table 1: IWSLT'14 De-En, FFN 2d; Table 2: WMT'14, FFN 4d), which
# ``lsra-profile --paper`` measures.
BASELINES = {
    "transformer_iwslt_de_en_128": dict(IWSLT, embed_dim=128, ffn_embed_dim=256),  # 2.8M params, 63M MACs
    "transformer_iwslt_de_en_192": dict(IWSLT, embed_dim=192, ffn_embed_dim=384),  # 5.7M params, 139M MACs
    "transformer_iwslt_de_en_240": dict(IWSLT, embed_dim=240, ffn_embed_dim=480),  # 8.5M params, 215M MACs
    "transformer_wmt_128": dict(WMT, embed_dim=128, ffn_embed_dim=512),  # 2.8M params, 87M MACs
    "transformer_wmt_256": dict(WMT, embed_dim=256, ffn_embed_dim=1024),  # 11.1M params, 338M MACs
    "transformer_wmt_320": dict(WMT, embed_dim=320, ffn_embed_dim=1280),  # 17.3M params, 527M MACs
}


def _register(name: str, parent_arch: str, embed_dim: int, ffn_embed_dim: int, share_all_embeddings: bool):
    defaults = {"share_all_embeddings": share_all_embeddings}
    for side in ("encoder", "decoder"):
        defaults.update({f"{side}_embed_dim": embed_dim, f"{side}_ffn_embed_dim": ffn_embed_dim})
    parent = ARCH_CONFIG_REGISTRY[parent_arch]

    def architecture(args):
        set_unset(args, defaults)
        parent(args)

    register_model_architecture("transformer", name)(architecture)


for _name, _row in BASELINES.items():
    _register(_name, **_row)

"""fairseq models built from LSRA blocks (registered on import)."""
from . import architectures  # noqa: F401  (registers the named architectures)
from . import transformer_baselines  # noqa: F401  (the paper's Transformer sizes, fairseq's model)
from .lite_transformer import LiteTransformerConfig, LiteTransformerModel
from .lite_transformer_lm import LiteTransformerLanguageModel, LiteTransformerLMConfig  # registers the LM

__all__ = ["LiteTransformerConfig", "LiteTransformerModel", "LiteTransformerLanguageModel",
           "LiteTransformerLMConfig"]

"""fairseq models built from LSRA blocks (registered on import)."""
from . import architectures  # noqa: F401  (registers the named architectures)
from .lite_transformer import LiteTransformerConfig, LiteTransformerModel

__all__ = ["LiteTransformerConfig", "LiteTransformerModel"]

"""Importers that turn checkpoints of other implementations into lsra-fairseq checkpoints."""
from .official import OfficialCheckpointError, convert_official, import_official, load_official

__all__ = ["OfficialCheckpointError", "convert_official", "import_official", "load_official"]

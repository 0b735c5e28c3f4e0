"""fairseq tasks for the paper's pipelines (registered on import)."""
from .summarization import SummarizationConfig, SummarizationTask

__all__ = ["SummarizationConfig", "SummarizationTask"]

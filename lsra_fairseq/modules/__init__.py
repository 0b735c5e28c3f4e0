"""LSRA layers in pure PyTorch: usable without fairseq."""
from .attention import MultiheadAttention
from .branch_spec import BranchSpec, BranchSpecError, check_kernel_sizes, parse_branches
from .convolution import DynamicConv, LightweightConv
from .layer import LSRALayer
from .lsra import AttentionBranch, ConvBranch, LongShortRangeAttention

__all__ = [
    "AttentionBranch", "BranchSpec", "BranchSpecError", "ConvBranch", "DynamicConv",
    "LightweightConv", "LongShortRangeAttention", "LSRALayer", "MultiheadAttention",
    "check_kernel_sizes", "parse_branches",
]

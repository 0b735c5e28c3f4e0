"""What #Params and #MACs include: the paper's counting conventions (spec §5), each switchable."""
from dataclasses import asdict, dataclass, fields
from typing import Optional


def token_counts(src_len: Optional[int], tgt_len: int) -> str:
    """How long the dummy sentence is; a language model (``src_len`` None) reads target tokens only."""
    return f"{tgt_len} tokens" if src_len is None else f"{src_len} source + {tgt_len} target tokens"


@dataclass(frozen=True)
class Conventions:
    """Defaults follow the spec: parameters without the embedding tables but with an untied output
    matrix (tied ones are the embedding table itself); MACs of linears, attention products and
    convolution taps, without embedding lookups and without the final output projection."""

    embedding_params: bool = False  # count embedding tables (token and learned-position)
    output_params: bool = True  # count an output matrix that is not tied to an embedding
    embedding_macs: bool = False  # count work inside embedding modules (adaptive-input projections)
    output_macs: bool = False  # count the final output projection (or adaptive softmax)
    conv_taps: bool = True  # count convolution taps (spec §5; the paper's own figures seem not to)

    @classmethod
    def names(cls):
        return [f.name for f in fields(cls)]

    def as_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        """What was counted, in words, for the text reports."""
        with_ = lambda flag: "with" if flag else "without"  # noqa: E731
        return (f"#Params {with_(self.embedding_params)} embedding tables, "
                f"{with_(self.output_params)} an untied output matrix; #MACs "
                f"{with_(self.embedding_macs)} the embedding modules, "
                f"{with_(self.output_macs)} the output projection, "
                f"{with_(self.conv_taps)} convolution taps")

"""The paper's #Params / #MACs tables (spec §5) as data, and their comparison with measurements.

A row matches when its measured #Params and #MACs are both within 3% of the printed figures.
"""
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

TOLERANCE = 0.03
UNITS = {"K": 1e3, "M": 1e6, "G": 1e9}

IWSLT_VOCAB = (8848, 6632)  # separate de / en dictionaries (spec §4)
JOINED_VOCAB = (32768, 32768)  # WMT / CNN-DM joined BPE dictionary; its size does not enter the counts
WIKI103_VOCAB = (267744, 267744)  # fairseq's WikiText-103 dictionary (adaptive input needs > 60000)


@dataclass(frozen=True)
class PaperFigure:
    """A figure as the paper prints it ("2.8M", "1.33G")."""

    text: str

    @property
    def value(self) -> float:
        return float(self.text[:-1]) * UNITS[self.text[-1]]

    def difference(self, measured: float) -> float:
        return measured / self.value - 1

    def matches(self, measured: float) -> bool:
        return abs(self.difference(measured)) <= TOLERANCE


@dataclass(frozen=True)
class PaperRow:
    table: str
    model: str
    arch: str
    params: PaperFigure
    macs: PaperFigure
    vocab: Tuple[int, int]
    overrides: Dict[str, object] = field(default_factory=dict)
    src_len: Optional[int] = 30  # None: a language model, which reads tgt_len tokens only
    tgt_len: int = 30


def _rows(table, vocab, entries, **common):
    """Rows from (model, arch, #Params, #MACs[, options]) tuples sharing ``common`` options."""
    rows = []
    for model, arch, params, macs, *options in entries:
        rows.append(PaperRow(table, model, arch, PaperFigure(params), PaperFigure(macs), vocab,
                             **common, **(options[0] if options else {})))
    return rows


TABLE_1 = "Table 1: IWSLT'14 De-En"
TABLE_2 = "Table 2: WMT'14 En-De / En-Fr"
TABLE_4 = "Table 4: CNN-DailyMail"
TABLE_5 = "Table 5: WikiText-103"
BASE_SHARED = {"share_all_embeddings": True}  # WMT setting: all embeddings shared (spec §3)

# The paper does not give the CNN-DM lengths: the same Transformer base is 1.33G at 30 + 30 tokens
# (Table 2) and 2.0G here, i.e. about 1.5x the tokens; 45 + 45 is that, and the Lite row checks it.
CNNDM_LENGTHS = {"src_len": 45, "tgt_len": 45}

PAPER_ROWS = (
    _rows(TABLE_1, IWSLT_VOCAB, [
        ("Transformer 128", "transformer_iwslt_de_en_128", "2.8M", "63M"),
        ("Lite Transformer 160", "lite_transformer_iwslt_de_en_160", "2.8M", "54M"),
        ("Transformer 192", "transformer_iwslt_de_en_192", "5.7M", "139M"),
        ("Lite Transformer 240", "lite_transformer_iwslt_de_en_240", "5.4M", "119M"),
        ("Transformer 240", "transformer_iwslt_de_en_240", "8.5M", "215M"),
        ("Lite Transformer 320", "lite_transformer_iwslt_de_en_320", "8.9M", "209M"),
    ])
    + _rows(TABLE_2, JOINED_VOCAB, [
        ("Transformer 128", "transformer_wmt_128", "2.8M", "87M"),
        ("Lite Transformer 200 (En-De)", "lite_transformer_wmt_en_de_200", "2.9M", "90M"),
        ("Lite Transformer 200 (En-Fr)", "lite_transformer_wmt_en_fr_200", "2.9M", "90M"),
        ("Transformer 256", "transformer_wmt_256", "11.1M", "338M"),
        ("Lite Transformer 408 (En-De)", "lite_transformer_wmt_en_de_408", "11.7M", "360M"),
        ("Lite Transformer 408 (En-Fr)", "lite_transformer_wmt_en_fr_408", "11.7M", "360M"),
        ("Transformer 320", "transformer_wmt_320", "17.3M", "527M"),
        ("Lite Transformer 496 (En-De)", "lite_transformer_wmt_en_de_496", "17.3M", "527M"),
        ("Lite Transformer 496 (En-Fr)", "lite_transformer_wmt_en_fr_496", "17.3M", "527M"),
        ("Transformer base", "transformer_wmt_en_de", "44.1M", "1.33G", {"overrides": BASE_SHARED}),
    ])
    + _rows(TABLE_4, JOINED_VOCAB, [
        ("Transformer base", "transformer_wmt_en_de", "44.1M", "2.0G", {"overrides": BASE_SHARED}),
        ("Lite Transformer 496", "lite_transformer_cnndm_496", "17.3M", "0.8G"),
    ], **CNNDM_LENGTHS)
    + _rows(TABLE_5, WIKI103_VOCAB, [
        ("Lite Transformer LM 896", "lite_transformer_lm_wiki103", "37.2M", "1147M"),
    ], src_len=None)
)


def paper_vocab(arch: str) -> Optional[Tuple[int, int]]:
    """The dictionary sizes the paper's setting gives ``arch`` (None for archs outside the tables)."""
    return next((row.vocab for row in PAPER_ROWS if row.arch == arch), None)

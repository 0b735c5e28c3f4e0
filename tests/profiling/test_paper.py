"""``lsra-profile --paper``: the paper's figures (Tables 1, 2, 4, 5) are the reference, 3% the tolerance."""
import json
from dataclasses import replace

import pytest

from lsra_fairseq.builder import build_registered_model
from lsra_fairseq.profiling import Conventions, cli, paper
from lsra_fairseq.profiling.paper import PAPER_ROWS, TABLE_1, TABLE_2, TABLE_4, TABLE_5, PaperFigure

TRANSLATION_ROWS = [row for row in PAPER_ROWS if row.table in (TABLE_1, TABLE_2)]
SMALLEST = [row for row in TRANSLATION_ROWS if row.arch.endswith(("_128", "_160", "_en_de_200"))]
# The note of examples/profiling/README.md: counting only linears (adaptive-input projections included) and attention
# products, as the paper's own counter seems to have done, brings every Lite row within 0.3% (as
# printed, to one decimal: IWSLT 320 is 209.66M for 209M, +0.32%).
LINEAR_ONLY = Conventions(conv_taps=False, embedding_macs=True)
LINEAR_ONLY_PERCENT = 0.3


def test_paper_figures_read_as_printed():
    assert PaperFigure("2.8M").value == pytest.approx(2.8e6)
    assert PaperFigure("1.33G").value == pytest.approx(1.33e9)
    assert PaperFigure("63M").matches(63e6 * 1.029) and not PaperFigure("63M").matches(63e6 * 0.969)


def test_every_translation_row_of_the_paper_is_listed():
    assert len({row.arch for row in TRANSLATION_ROWS}) == 6 + 10  # Lite + Transformer, En-Fr twins
    assert {"transformer_iwslt_de_en_128", "transformer_wmt_320", "transformer_wmt_en_de"} <= {
        row.arch for row in TRANSLATION_ROWS}


def test_every_row_of_the_readme_is_listed():
    assert [sum(row.table == table for row in PAPER_ROWS) for table in (TABLE_1, TABLE_2, TABLE_4, TABLE_5)] \
        == [6, 10, 2, 1]


@pytest.fixture
def build_once(monkeypatch):
    """Within one test, the model of a row is built once however often it is measured."""
    built = {}

    def build(arch, task, **overrides):
        key = (arch, tuple(sorted(overrides.items())))
        if key not in built:
            built[key] = build_registered_model(arch, task, **overrides)
        return built[key]

    monkeypatch.setattr(paper, "build_registered_model", build)


@pytest.mark.parametrize("row", PAPER_ROWS, ids=lambda row: f"{row.table[:7]}-{row.arch}")
def test_every_row_reproduces_the_paper_within_3_percent(row, build_once):
    result = paper.measure_row(row)
    assert result["ok"], (f"{row.arch}: {result['params']} params vs {row.params.text}, "
                          f"{result['macs']} MACs vs {row.macs.text}")
    if row.arch.startswith("lite_transformer"):
        linear_only = paper.measure_row(row, LINEAR_ONLY)
        assert linear_only["macs_by_kind"]["convolution"] > 0  # the taps ran, and were left out
        assert linear_only["macs"] == linear_only["macs_by_kind"]["linear"] + linear_only["macs_by_kind"]["attention"]
        assert round(abs(linear_only["macs_diff"]) * 100, 1) <= LINEAR_ONLY_PERCENT, (row.arch, linear_only["macs"])


def test_unregistered_arch_stops_with_a_clear_message():
    with pytest.raises(ValueError, match="unknown arch 'lite_transformer_not_built_yet': not registered"):
        paper.measure_row(replace(SMALLEST[0], arch="lite_transformer_not_built_yet"))


def test_a_row_off_by_more_than_3_percent_fails(monkeypatch, capsys):
    rows = [replace(SMALLEST[0], macs=PaperFigure("50M"))]  # the real figure is far from 50M
    monkeypatch.setattr(cli, "PAPER_ROWS", rows)
    assert cli.main(["--paper", "--json"]) == 1
    (row,) = json.loads(capsys.readouterr().out)
    assert {"model", "arch", "params", "macs", "paper_params", "paper_macs"} <= set(row)
    assert row["paper_macs"] == 50_000_000 and row["ok"] is False
    assert "**off**" in paper.format_paper_table(rows, [row])


def test_paper_mode_refuses_options_it_fixes_itself():
    with pytest.raises(SystemExit):
        cli.main(["--paper", "--src-len", "10"])


def test_paper_mode_applies_convention_flags(monkeypatch, capsys):
    lite = next(row for row in SMALLEST if row.arch == "lite_transformer_iwslt_de_en_160")
    monkeypatch.setattr(cli, "PAPER_ROWS", [lite])
    assert cli.main(["--paper", "--json", "--no-conv-taps"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["conventions"]["conv_taps"] is False
    assert row["macs"] == row["macs_by_kind"]["linear"] + row["macs_by_kind"]["attention"]

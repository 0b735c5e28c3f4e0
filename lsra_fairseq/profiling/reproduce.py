"""``lsra-profile --paper``: measures every row of the paper's tables and compares it."""
from typing import List, Sequence

from .builder import build_registered_model, make_task
from .conventions import Conventions, token_counts
from .paper import PAPER_ROWS, PaperFigure, PaperRow
from .profile import profile_model


def measure_row(row: PaperRow, conventions: Conventions = Conventions()) -> dict:
    """One JSON-ready row (an arch that is not registered stops with the builder's ValueError)."""
    model = build_registered_model(row.arch, make_task(*row.vocab), **row.overrides)
    measured = profile_model(model, row.src_len, row.tgt_len, **conventions.as_dict())
    return {"table": row.table, "model": row.model, "arch": row.arch,
            "params": measured["params"], "macs": measured["macs"],
            "paper_params": int(row.params.value), "paper_macs": int(row.macs.value),
            "src_len": row.src_len, "tgt_len": row.tgt_len, "overrides": row.overrides,
            "macs_by_kind": measured["macs_by_kind"], "conventions": measured["conventions"],
            "params_diff": row.params.difference(measured["params"]),
            "macs_diff": row.macs.difference(measured["macs"]),
            "ok": row.params.matches(measured["params"]) and row.macs.matches(measured["macs"])}


def measure_paper_rows(rows: Sequence[PaperRow] = PAPER_ROWS,
                       conventions: Conventions = Conventions()) -> List[dict]:
    return [measure_row(row, conventions) for row in rows]


def millions(count: int) -> str:
    """3 or 4 significant digits in millions: 2.77M, 54.71M, 1337.8M."""
    return f"{count / 1e6:.2f}M" if count < 1e8 else f"{count / 1e6:.1f}M"


def _cells(measured: int, figure: PaperFigure) -> List[str]:
    """Measured, printed, relative difference (+ 0 turns a rounded -0.0 into 0.0)."""
    mark = "" if figure.matches(measured) else " **off**"
    return [millions(measured), figure.text, f"{round(figure.difference(measured), 3) + 0:+.1%}{mark}"]


def format_paper_table(rows: Sequence[PaperRow], results: List[dict],
                       conventions: Conventions = Conventions()) -> str:
    """Markdown, one table per paper table, so the README can show it exactly as printed."""
    lines, table = [], None
    for row, result in zip(rows, results):
        if result["table"] != table:
            table = result["table"]
            lines += ["", f"{table} ({token_counts(row.src_len, row.tgt_len)})", "",
                      "| model | arch | #Params | paper | diff | #MACs | paper | diff |",
                      "|---|---|---|---|---|---|---|---|"]
        cells = [result["model"], f"`{result['arch']}`",
                 *_cells(result["params"], row.params), *_cells(result["macs"], row.macs)]
        lines.append("| " + " | ".join(cells) + " |")
    within = sum(result["ok"] for result in results)
    lines += ["", f"Counted: teacher-forced, batch 1; {conventions.describe()}.",
              f"{within} of {len(results)} rows within tolerance (3% on #Params and #MACs)."]
    return "\n".join(lines).lstrip("\n")

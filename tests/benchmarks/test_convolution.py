"""The convolution benchmark suite end to end at tiny size (one run per figure): every contender
computes the same numbers (the suite checks it before timing), the algorithm the module picks is
named, and both files are written. Nothing here is timed against a target."""
import json

from benchmarks.__main__ import main


def test_convolution_suite_writes_every_contender_at_one_band_and_at_blocks(tmp_path):
    # k = 5: blocks of 32 rows, so T = 40 is blocked for the fused dynamic path, a band for the lightweight one.
    main(["convolution", "--conv-lengths", "8,40", "--conv-tokens", "80", "--conv-channels", "8",
          "--conv-heads", "2", "--conv-kernel", "5", "--conv-no-memory", "--repeats", "1", "--threads", "1",
          "--results", str(tmp_path)])
    rows = json.loads((tmp_path / "bench-convolution.json").read_text())["rows"]
    assert {(r["convolution"], r["T"], r["mode"]) for r in rows} == {
        (kind, T, mode) for kind in ("lightweight", "dynamic") for T in (8, 40)
        for mode in ("forward", "forward+backward")}
    picked = {(r["convolution"], r["T"]): r["algorithm"] for r in rows}
    assert picked == {("lightweight", 8): "band", ("lightweight", 40): "band",
                      ("dynamic", 8): "band", ("dynamic", 40): "blocked"}
    assert all(set(r["ms"]) == {"ours", "ours band", "ours blocked", "fairseq expanded", "fairseq unfold"}
               and r["speedup_vs_fairseq_best"] > 0 for r in rows)
    assert "speed-up vs fairseq's best" in (tmp_path / "bench-convolution.md").read_text()

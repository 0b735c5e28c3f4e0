"""The generation benchmark suite end to end at tiny size (one run per figure), so the harness
cannot rot: every system of every cell measured, ratios and BLEU filled, both files written.
Nothing here is timed against a target; speed targets live in the benchmark's own results."""
import json

import pytest

from benchmarks.__main__ import main
from benchmarks.random_checkpoint import write_random_checkpoint

TINY = {"lite_transformer_iwslt_de_en_160": [
            "--encoder-embed-dim", "32", "--decoder-embed-dim", "32", "--encoder-ffn-embed-dim", "32",
            "--decoder-ffn-embed-dim", "32", "--encoder-layers", "1", "--decoder-layers", "1",
            "--encoder-branch-type", "attn:1:16:2,lightweight:default:16:2",
            "--decoder-branch-type", "attn:1:16:2,lightweight:default:16:2",
            "--encoder-kernel-size-list", "3", "--decoder-kernel-size-list", "3",
            "--decoder-attention-heads", "2"],
        "transformer_iwslt_de_en_128": [
            "--encoder-embed-dim", "32", "--decoder-embed-dim", "32", "--encoder-ffn-embed-dim", "32",
            "--decoder-ffn-embed-dim", "32", "--encoder-layers", "1", "--decoder-layers", "1",
            "--encoder-attention-heads", "2", "--decoder-attention-heads", "2"]}


def write_tiny_dataset(shared_data, folder, sentences=12):
    """A binarized De-En test split (and the train/valid splits fairseq's task expects) from the
    first Multi30k test sentences, lowercased and split at spaces, with one dictionary per side."""
    from fairseq.data import Dictionary, indexed_dataset

    folder.mkdir()
    lines = {lang: (shared_data / "multi30k" / "raw" / f"test_2016_flickr.{lang}").read_text(encoding="utf-8")
             .lower().splitlines()[:sentences] for lang in ("de", "en")}
    for lang, text in lines.items():
        dictionary = Dictionary()
        for line in text:
            for word in line.split():
                dictionary.add_symbol(word)
        dictionary.save(str(folder / f"dict.{lang}.txt"))
        for split in ("train", "valid", "test"):
            prefix = folder / f"{split}.de-en.{lang}"
            builder = indexed_dataset.make_builder(f"{prefix}.bin", impl="mmap", vocab_size=len(dictionary))
            for line in text:
                builder.add_item(dictionary.encode_line(line, add_if_not_exist=False))
            builder.finalize(f"{prefix}.idx")
    (folder / "preparation.json").write_text(json.dumps({"source_lang": "de", "target_lang": "en"}))


@pytest.fixture(scope="module")
def tiny_setup(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("bench_generation")
    data = root / "data-bin"
    write_tiny_dataset(shared_data, data)
    checkpoints = {arch: write_random_checkpoint(arch, data, root / f"{arch}.pt", flags=flags)
                   for arch, flags in TINY.items()}
    return root, data, checkpoints


def test_generation_suite_measures_every_system_in_every_cell(tiny_setup, one_thread):
    pytest.importorskip("ctranslate2")
    root, data, checkpoints = tiny_setup
    lite, transformer = (str(checkpoints[a]) for a in TINY)
    results = root / "results"
    main(["generation", "--gen-data", str(data), "--gen-work", str(root / "work"), "--results", str(results),
          "--gen-forced-lite", lite, "--gen-forced-transformer", transformer,
          "--gen-lite", lite, "--gen-transformer", transformer, "--gen-fast-variants", "eager:fp32,onnx:int8",
          "--gen-natural-max-len-b", "5",  # untrained models would run to 200 tokens
          "--gen-batch-sizes", "1,4", "--gen-batch1-sentences", "2", "--gen-sentences", "8",
          "--gen-bleu-sentences", "8", "--repeats", "1", "--threads", "1"])
    record = json.loads((results / "bench-generation.json").read_text())
    assert record["suite"] == "generation" and record["command"].startswith("python -m benchmarks generation")
    timed = [r for r in record["rows"] if "seconds" in r]
    assert not [r for r in record["rows"] if "unavailable" in r]  # every system ran, the fast generator too
    cells = {(r["regime"], r["search"], r["batch_size"], r["threads"]) for r in timed}
    assert cells == {(regime, search, batch, 1) for regime in ("forced", "natural")
                     for search in ("beam 4", "greedy") for batch in (1, 4)}
    for regime, (lite_name, transformer_name) in {"forced": TINY, "natural": ("lite_demo", "transformer_demo")}.items():
        every_search = {(lite_name, "fairseq-generate", "fp32"), (lite_name, "fast generator (eager)", "fp32"),
                        (lite_name, "fast generator (onnx)", "int8"), (transformer_name, "fairseq-generate", "fp32"),
                        (transformer_name, "CTranslate2", "fp32"), (transformer_name, "CTranslate2", "int8")}
        greedy_only = {(lite_name, "exported (ONNX Runtime loop)", p) for p in ("fp32", "int8")}
        expected = sorted((*system, search, batch) for search in ("beam 4", "greedy") for batch in (1, 4)
                          for system in every_search | (greedy_only if search == "greedy" else set()))
        assert sorted((r["model"], r["system"], r["precision"], r["search"], r["batch_size"])
                      for r in timed if r["regime"] == regime) == expected  # each system once in each cell
    for row in timed:
        assert row["sentences_per_s"] > 0 and row["sentences"] == (2 if row["batch_size"] == 1 else 8)
        if row["system"] == "fairseq-generate":
            assert row["vs_fairseq"] == 1.0
        if row["regime"] == "natural":
            assert 0 <= row["bleu"] <= 100 and row["bleu_sentences"] == 8
        else:
            assert "bleu" not in row
    markdown = (results / "bench-generation.md").read_text()
    assert "## Acceptance" in markdown and "### 1 thread" in markdown and "CTranslate2 | int8" in markdown
    assert ("lite_transformer_iwslt_de_en_160 fast generator (eager) fp32 vs CTranslate2 int8 "
            "(transformer_iwslt_de_en_128), beam 4, batch 1, 1 thread") in markdown
    assert "exported (ONNX Runtime loop) int8 BLEU change vs fp32, greedy (8 sentences)" in markdown


def test_natural_regime_without_a_trained_model_says_what_to_run(tiny_setup, tmp_path):
    _, data, _ = tiny_setup
    with pytest.raises(SystemExit, match=r"no trained lite checkpoint.*make train DATASET=multi30k MODEL=lite_demo"):
        main(["generation", "--gen-data", str(data), "--gen-regimes", "natural",
              "--gen-lite", str(tmp_path / "missing.pt"), "--results", str(tmp_path)])

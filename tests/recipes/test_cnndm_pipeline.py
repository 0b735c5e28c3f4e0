"""The CNN-DailyMail recipe on the shared sample (a few dozen real articles), end to end through
make: prepare (BPE, joined dictionary), train a tiny Lite Transformer with ROUGE validation,
generate with the paper's settings and report ROUGE-1/2/L to results/.

32 training, 8 validation and 6 test articles, BPE with 500 merges, sources cut to 300 tokens. A
model trained for a few updates scores near 0: the test shows that the pipeline runs, not a score."""
import gzip
import json
import re

import pytest

from .test_wikitext_lm import make

SAMPLE = {"train": 32, "val": 8, "test": 6}  # val: fairseq drops a last batch of < 8 examples
SOURCE_LENGTH = "300"  # shorter than the paper's 1000 tokens, to keep the CPU run short


@pytest.fixture(scope="module")
def cnndm_run(shared_data, tmp_path_factory):
    work = tmp_path_factory.mktemp("cnndm")
    raw = work / "raw"
    raw.mkdir()
    for split, count in SAMPLE.items():
        for part in ("article", "abstract"):
            with gzip.open(shared_data / "cnn-dailymail" / "abisee-chunked-sample" / f"{split}.{part}.txt.gz",
                           "rt", encoding="utf-8") as f:
                (raw / f"{split}.{part}.txt").write_text("".join(next(f) for _ in range(count)), encoding="utf-8")
    paths = dict(WORK_DIR=work / "data", DATA_BIN=work / "bin", RUNS=work / "runs",
                 RESULTS=work / "results", MODEL="lite_cnndm_tiny_cpu")
    prepare_log = make("prepare-cnndm", RAW=raw, CNNDM_BPE_MERGES=500, WORKERS=1, **paths)
    train_log = make("train-cnndm", TRAIN_ARGS=(
        f"--update-freq 1 --cpu --source-length {SOURCE_LENGTH} --eval-rouge "
        "--best-checkpoint-metric rougeLsum --maximize-best-checkpoint-metric"), **paths)
    test_log = make("test-model-cnndm", TEST_ARGS=f"--cpu --source-length {SOURCE_LENGTH}", **paths)
    return work, prepare_log, train_log, test_log


def test_prepare_applies_bpe_and_a_joined_dictionary(cnndm_run):
    work, prepare_log, _, _ = cnndm_run
    assert "abisee format" in prepare_log
    bin_dir = work / "bin" / "cnndm"
    assert (bin_dir / "dict.source.txt").read_text() == (bin_dir / "dict.target.txt").read_text()
    assert "@@" in (work / "data" / "cnndm" / "bpe" / "train.source").read_text()
    references = (bin_dir / "test.reference").read_text().splitlines()
    assert len(references) == SAMPLE["test"] and "<s>" not in references[0] and "@@" not in references[0]


def test_validation_reports_rouge(cnndm_run):
    _, _, train_log, _ = cnndm_run
    valid = re.search(r"\| valid on 'valid' subset \|.*", train_log).group(0)
    for name in ("rouge1", "rouge2", "rougeL", "rougeLsum"):
        assert re.search(rf"\| {name} [\d.]+", valid), valid


def test_test_model_generates_with_the_papers_settings_and_reports_rouge(cnndm_run):
    work, _, _, test_log = cnndm_run
    assert re.search(r"rouge1 [\d.]+ \| rouge2 [\d.]+ \| rougeL [\d.]+ \| rougeLsum [\d.]+", test_log)
    result = json.loads((work / "results" / "cnndm-lite_cnndm_tiny_cpu.json").read_text())
    assert result["examples"] == SAMPLE["test"]
    assert all(0 <= result[name] <= 100 for name in ("rouge1", "rouge2", "rougeL", "rougeLsum"))
    for setting in ("--beam 4", "--lenpen 2.0", "--min-len 55", "--max-len-b 140", "--no-repeat-ngram-size 3",
                    "--task lsra_summarization"):
        assert setting in result["generate_command"]
    generated = (work / "runs" / "cnndm" / "lite_cnndm_tiny_cpu" / "generate-test.txt").read_text()
    hypotheses = re.findall(r"^H-\d+\t\S+\t(.*)$", generated, flags=re.M)
    assert len(hypotheses) == SAMPLE["test"]
    assert all("@@" not in h for h in hypotheses)  # BPE removed
    # --min-len 55 / --max-len-b 140 count the model's (BPE) tokens: one positional score each, + </s>.
    tokens = [len(scores.split()) - 1 for scores in re.findall(r"^P-\d+\t(.*)$", generated, flags=re.M)]
    assert len(tokens) == SAMPLE["test"] and all(55 <= n <= 140 for n in tokens), tokens

"""BLEU as the paper computes it: agrees with fairseq's own scorer, with and without compound splitting."""
import re
import subprocess
import sys

import pytest

from lsra_fairseq.evaluation.bleu import (compound_split, detokenized_sacrebleu, read_generate_output,
                                          tokenized_bleu)
from lsra_fairseq.preprocessing.datasets import DATASETS
from lsra_fairseq.preprocessing.lines import read_lines, write_lines
from lsra_fairseq.preprocessing.moses import tokenize


@pytest.fixture(scope="module")
def known_pair(shared_data, tmp_path_factory):
    """Tokenized newstest2014 German references and a degraded copy as the hypotheses."""
    lines = list(read_lines(shared_data / "wmt14" / "newstest2014-txt" / "newstest2014.deen.de"))[:300]
    refs = [tokenize(line, "de", DATASETS["wmt14-en-de"].moses) for line in lines]
    hyps = [" ".join(w for i, w in enumerate(r.split()) if i % 4 != 1) for r in refs]
    folder = tmp_path_factory.mktemp("bleu")
    write_lines(folder / "ref", refs)
    write_lines(folder / "hyp", hyps)
    return folder, hyps, refs


def fairseq_score(folder, split: bool) -> float:
    """fairseq-score (the scorer of the paper's test scripts) on files compound-split by sed."""
    files = {}
    for name in ("hyp", "ref"):
        files[name] = folder / f"{name}.{'split' if split else 'plain'}"
        script = r"s/(\S)-(\S)/\1 ##AT##-##AT## \2/g" if split else "p;d"
        with open(files[name], "w") as out:
            subprocess.run(["sed", "-E", script, str(folder / name)], stdout=out, check=True)
    result = subprocess.run([sys.executable, "-m", "fairseq_cli.score", "--sys", str(files["hyp"]),
                             "--ref", str(files["ref"])], capture_output=True, text=True, check=True)
    return float(re.search(r"BLEU4 = ([\d.]+)", result.stdout).group(1))


@pytest.mark.parametrize("split", [False, True])
def test_tokenized_bleu_agrees_with_fairseq_score(known_pair, split):
    folder, hyps, refs = known_pair
    ours = tokenized_bleu(hyps, refs, split_compounds=split).score
    assert ours == pytest.approx(fairseq_score(folder, split), abs=0.006)


def test_compound_splitting_changes_the_score_on_german(known_pair):
    _, hyps, refs = known_pair
    assert sum("##AT##" in compound_split(r) for r in refs) > 10
    assert tokenized_bleu(hyps, refs, True).score != tokenized_bleu(hyps, refs).score


def test_compound_split_matches_the_perl_rule():
    # as perl -ple 's{(\S)-(\S)}{$1 ##AT##-##AT## $2}g': matches do not overlap ("a-b-c")
    assert compound_split("ein 18-jähriger Rhein-Main-Bewohner - a-b-c") == \
        "ein 18 ##AT##-##AT## jähriger Rhein ##AT##-##AT## Main ##AT##-##AT## Bewohner - a ##AT##-##AT## b-c"


def test_generate_output_is_read_in_test_set_order(tmp_path):
    path = tmp_path / "generate-test.txt"
    one, two = "a dog &apos;s ball is red and blue .", "two cats sleep on the warm sofa ."
    path.write_text(f"S-1\tzwei\nT-1\t{two}\nH-1\t-0.5\t{two}\nD-1\t-0.5\t{two}\nP-1\t-0.1 -0.2\n"
                    f"S-0\teins\nT-0\t{one}\nH-0\t-0.2\t{one}\n"
                    "2026-01-01 | INFO | fairseq | Translated 2 sentences\nGenerate test with beam=4: BLEU4 = 1\n")
    hyps, refs = read_generate_output(path)
    assert hyps == [one, two] and refs == [one, two]
    score, signature = detokenized_sacrebleu(hyps, ["a dog's ball is red and blue.", "two cats sleep on the warm sofa."],
                                             "en")
    assert score == pytest.approx(100.0) and "tok:13a" in signature

"""lsra-prepare, the one preparation tool: every recipe's dataset is a row of its table, and a
word-level dataset refuses BPE merges."""
import re
import subprocess

import pytest

from lsra_fairseq.preprocessing import cnndm, pipeline, wikitext
from lsra_fairseq.preprocessing.datasets import DATASETS

from ..conftest import REPO


def test_every_recipe_dataset_has_a_preparation():
    listed = subprocess.run(["make", "-s", "-o", "install", "train"], cwd=REPO, capture_output=True,
                            text=True).stdout  # lists the datasets of examples/*/recipe.mk
    recipes = re.search(r"one of: ([^>]*)>", listed).group(1).split()
    assert sorted(pipeline.PREPARATIONS) == sorted(recipes)
    assert pipeline.PREPARATIONS["cnndm"] == pipeline.Preparation(cnndm.prepare, 30000)
    assert pipeline.PREPARATIONS["wikitext103"] == pipeline.Preparation(wikitext.prepare, None)
    assert pipeline.PREPARATIONS["iwslt14"].bpe_merges == DATASETS["iwslt14"].bpe_merges == 10000


def test_word_level_wikitext_takes_no_bpe_merges(tmp_path, capsys):
    with pytest.raises(SystemExit):
        pipeline.main(["wikitext103", "--bpe-merges", "100", "--raw", str(tmp_path)])
    assert "wikitext103 is word-level: it takes no --bpe-merges" in capsys.readouterr().err

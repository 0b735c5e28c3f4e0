"""lsra-prepare wikitext103 (also spelled wikitext-103, as the corpus is) names what is missing."""
import pytest

from lsra_fairseq.preprocessing import pipeline


@pytest.mark.parametrize("name", ["wikitext103", "wikitext-103"])
def test_wikitext_names_what_is_missing(tmp_path, capsys, name):
    folders = ["--work", str(tmp_path / "w"), "--dest", str(tmp_path / "b")]
    assert pipeline.main([name, "--raw", str(tmp_path / "missing"), *folders]) == 1
    error = capsys.readouterr().err
    assert "lsra-prepare wikitext103: the local copy" in error and "missing does not exist" in error
    (tmp_path / "empty").mkdir()
    assert pipeline.main([name, "--raw", str(tmp_path / "empty"), *folders]) == 1
    assert "wiki.{train,valid,test}.tokens" in capsys.readouterr().err

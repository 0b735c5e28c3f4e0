"""install_once: the plugin's fixes wrap fairseq's functions once, however often it is imported."""
import types

from lsra_fairseq.patching import install_once


def adding(suffix):
    def wrap(function):
        return lambda: function() + suffix
    wrap.__qualname__ = f"adding_{suffix}"
    return wrap


def test_a_wrap_is_installed_once_and_wraps_stack():
    owner = types.SimpleNamespace(run=lambda: "fairseq")
    first, second = adding("+first"), adding("+second")
    for _ in range(2):  # the plugin imported twice
        install_once(owner, "run", first)
        install_once(owner, "run", second)
    assert owner.run() == "fairseq+first+second"
    install_once(owner, "run", first)  # still installed, one level down
    assert owner.run() == "fairseq+first+second"

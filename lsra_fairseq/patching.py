"""Installs a wrapper around a fairseq function, once however often the plugin is imported.

The plugin's fixes run at every import of it (a ``--user-dir`` import, every process fairseq
spawns), and a second wrapper around the first would apply a fix twice. Each wrapper records the
wraps installed in it, those of the function it wraps included, so installing one again does nothing.
"""


def install_once(owner, name: str, wrap) -> None:
    """Sets ``owner.<name>`` to ``wrap(owner.<name>)`` unless ``wrap`` is already installed there."""
    current = getattr(owner, name)
    installed = getattr(current, "lsra_installed", ())
    key = f"{wrap.__module__}.{wrap.__qualname__}"
    if key in installed:
        return
    wrapper = wrap(current)
    wrapper.lsra_installed = installed + (key,)
    setattr(owner, name, wrapper)

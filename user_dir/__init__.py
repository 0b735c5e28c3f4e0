import lsra_fairseq.plugin  # noqa: F401  (fairseq --user-dir shim: registers the plugin)

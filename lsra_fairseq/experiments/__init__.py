"""Multi-run experiments: the paper's comparisons at equal #MACs, seeds and all (``lsra-table``)."""

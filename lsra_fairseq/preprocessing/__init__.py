"""Data preparation for every recipe: ``lsra-prepare DATASET`` (``pipeline``, the table of datasets).

Translation follows the paper's Moses + BPE recipes in Python (``datasets`` holds their settings,
``translation`` runs them); ``cnndm`` and ``wikitext`` prepare summarization and language modeling.
Every preparation resumes after its last finished step (``steps``).
"""

"""Data preparation for the translation recipes: the paper's Moses + BPE pipeline in Python.

``datasets`` holds one table of dataset settings; ``pipeline`` runs them step by step
(``lsra-prepare DATASET``), resuming after the last finished step.
"""

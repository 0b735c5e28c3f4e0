"""lsra-fairseq: Lite Transformer's Long-Short Range Attention as a fairseq plugin.

``lsra_fairseq.modules`` needs only PyTorch. ``lsra_fairseq.plugin`` registers everything with
fairseq (``--user-dir user_dir`` imports it); Python imports a module once, so registering through
both a direct import and ``--user-dir`` happens exactly once.
"""
__version__ = "0.1.0"

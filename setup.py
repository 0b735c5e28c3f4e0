"""lsra-fairseq: Lite Transformer (LSRA) for fairseq.

fairseq itself is installed by `make install` (the `fairseq-fixed` fork, built against the installed
torch and without its torchaudio requirement), so it is not listed in install_requires here.
"""
from setuptools import find_packages, setup

setup(
    name="lsra-fairseq",
    version="0.1.0",
    description="Lite Transformer's Long-Short Range Attention as a fairseq plugin",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",  # zip(strict=True)
    packages=find_packages(include=["lsra_fairseq", "lsra_fairseq.*"]),
    install_requires=[
        "torch>=2.1,<2.14",
        "numpy>=1.24,<2.3",
        # fairseq-fixed's own runtime needs (its torchaudio pin is left out on purpose)
        "hydra-core==1.3.2",  # fairseq-fixed pins these two exactly
        "omegaconf==2.3.0",
        "bitarray>=2.6",
        "cffi>=1.15",
        "regex>=2022.1",
        "scikit-learn>=1.2",
        "packaging>=21",
        "tqdm>=4.60",
        # our own
        "sacrebleu>=2.3,<3",
        "sacremoses>=0.1,<0.2",
        "subword-nmt>=0.3.8,<0.4",
        "PyYAML>=5.1",  # recipe configs (lsra-train); omegaconf needs it too
        "rouge-score>=0.1.2,<0.2",  # ROUGE for summarization (the lsra_summarization task)
        # fast generation and lsra-export: ONNX graphs, ONNX Runtime (also int8), the graph optimizer
        "onnx>=1.16,<2",
        "onnxruntime>=1.18,<2",
        "onnxscript>=0.2,<1",
        "matplotlib>=3.7",  # the comparison table's plot (lsra-table)
    ],
    extras_require={
        "test": ["pytest>=7,<9"],
        # make bench: the CTranslate2 baseline
        "bench": ["ctranslate2>=4.5,<5"],
    },
    entry_points={"console_scripts": [
        "lsra-profile = lsra_fairseq.profiling.cli:main",
        "lsra-import-official = lsra_fairseq.conversion.official:main",
        "lsra-prepare = lsra_fairseq.preprocessing.pipeline:main",
        "lsra-train = lsra_fairseq.training:main",
        "lsra-evaluate = lsra_fairseq.evaluation.evaluate:main",
        "lsra-average-checkpoints = lsra_fairseq.evaluation.averaging:main",
        "lsra-translate = lsra_fairseq.generation.cli:main",
        "lsra-export = lsra_fairseq.export.cli:main",
        "lsra-compress = lsra_fairseq.compression.cli:main",
        "lsra-table = lsra_fairseq.experiments.table:main",
    ]},
)

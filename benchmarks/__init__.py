"""The project's one benchmark entry point: ``python -m benchmarks [suite ...]`` (``make bench``).

Each suite is a module of this package with ``add_arguments(parser)`` (optional) and
``run(args) -> Report``; the harness writes its JSON and Markdown under ``results/``. Speed figures
are ratios measured side by side in one run, medians of repeated runs, with the thread count stated:
the machines are shared and noisy, so absolute times only mean something next to each other.
"""

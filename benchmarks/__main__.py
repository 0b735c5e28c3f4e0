"""``python -m benchmarks [suite ...]``: runs the named suites (all by default) and writes
``results/bench-<suite>.{json,md}``."""
import argparse
import importlib
from pathlib import Path

from .harness import REPO, relative_command

# Suite name -> module of this package. Each module has run(args) -> Report and may have
# add_arguments(parser) for its own options.
SUITES = {"convolution": "convolution", "training": "training", "generation": "generation",
          "generation-backends": "generation_backends"}


def main(argv=None) -> None:
    modules = {name: importlib.import_module(f"benchmarks.{module}") for name, module in SUITES.items()}
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("suites", nargs="*", metavar="SUITE",
                        help=f"suites to run (default: all of {', '.join(SUITES)})")
    parser.add_argument("--results", type=Path, default=REPO / "results", help="output folder")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure (median)")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    for module in modules.values():
        if hasattr(module, "add_arguments"):
            module.add_arguments(parser)
    args = parser.parse_args(argv)
    args.threads = [int(t) for t in str(args.threads).split(",") if t]
    unknown = [name for name in args.suites if name not in SUITES]
    if unknown:
        parser.error(f"unknown suite {', '.join(unknown)}; choose from {', '.join(SUITES)}")
    for name in args.suites or list(SUITES):
        report = modules[name].run(args)
        for path in report.write(args.results, relative_command(argv)):
            print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")


if __name__ == "__main__":
    main()

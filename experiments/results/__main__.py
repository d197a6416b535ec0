"""`python -m experiments.results`: write docs/RESULTS.md (see the package docstring)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from experiments.results.document import render, update_readme
from experiments.results.presets import PRESETS
from experiments.results.sweeps import load_sweep, newest_sweeps
from experiments.results.tables import PresetResult, evaluate


def build(outputs: Path, doc: Path) -> list[PresetResult]:
    """Evaluate every preset from its newest sweep under `outputs`; plots go beside `doc`."""
    found = newest_sweeps(outputs, [p.name for p in PRESETS])
    plot_dir = doc.parent / "results"
    return [
        evaluate(p, load_sweep(p.name, found[p.name]) if p.name in found else None, plot_dir)
        for p in PRESETS
    ]


def main(argv: list[str] | None = None) -> int:
    """Command line; exit 2 with one line when no preset has a sweep (nothing is written)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outputs", type=Path, default=Path("outputs"), help="where sweeps are")
    parser.add_argument("--out", type=Path, default=Path("docs/RESULTS.md"))
    parser.add_argument(
        "--readme",
        type=Path,
        default=Path("README.md"),
        help="README whose results block is refreshed ('' to leave it)",
    )
    args = parser.parse_args(argv)
    if not args.outputs.is_dir():
        print(f"error: no folder {args.outputs}/; run `make results` first", file=sys.stderr)
        return 2
    results = build(args.outputs, args.out)
    if all(r.sweep is None for r in results):
        names = ", ".join(p.name for p in PRESETS)
        print(
            f"error: no sweep of any results preset ({names}) under {args.outputs}/; "
            "run `make results` first",
            file=sys.stderr,
        )
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(results, args.out.parent))
    print(f"Wrote {args.out}")
    if str(args.readme) and args.readme.is_file():
        link = (
            str(args.out.relative_to(args.readme.parent))
            if args.out.is_relative_to(args.readme.parent)
            else str(args.out)
        )
        if update_readme(args.readme, results, link):
            print(f"Updated the results block of {args.readme}")
    for r in results:
        for v in r.verdicts:
            print(f"  {r.preset.name}: {v.claim.text}: {v.verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

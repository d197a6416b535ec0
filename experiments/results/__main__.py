"""`python -m experiments.results`: write docs/RESULTS.md (see the package docstring)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from experiments.results import registry
from experiments.results.document import render, update_readme
from experiments.results.presets import PRESETS
from experiments.results.sweeps import load_sweep, newest_sweeps
from experiments.results.tables import PresetResult, adjust, evaluate

TIMING = "timing"  # outputs/timing/<preset>.csv: interleaved CPU seconds per epoch


def timing(outputs: Path, preset: str) -> pd.DataFrame | None:
    """The preset's interleaved CPU benchmark (`model`, `repeat`, `cpu_seconds`), if measured."""
    path = outputs / TIMING / f"{preset}.csv"
    return pd.read_csv(path) if path.is_file() else None


def build(outputs: Path, doc: Path, registry_path: Path = registry.REGISTRY) -> list[PresetResult]:
    """Evaluate every preset from its newest sweep under `outputs` against the registry at
    `registry_path`, Holm-adjusted across the document; plots go beside `doc`."""
    found = newest_sweeps(outputs, [p.name for p in PRESETS])
    plot_dir, entries = doc.parent / "results", registry.load(registry_path)
    results = [
        evaluate(
            p,
            load_sweep(p.name, found[p.name]) if p.name in found else None,
            plot_dir,
            timing(outputs, p.name),
            entries,
        )
        for p in PRESETS
    ]
    return adjust(results)


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
    parser.add_argument(
        "--register",
        action="store_true",
        help=f"record new or changed criteria in {registry.REGISTRY.name} (now) and exit",
    )
    args = parser.parse_args(argv)
    if args.register:
        added = registry.register(PRESETS)
        for name in added:
            print(f"registered: {name}")
        print(f"{len(added)} criteria registered in {registry.REGISTRY}")
        return 0
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
    previous = args.out.read_text() if args.out.is_file() else None
    args.out.write_text(render(results, args.out.parent, previous))
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
        cut = " (provisional: sweep incomplete)" if r.sweep and r.sweep.incomplete else ""
        for v in r.verdicts:
            hoc = " (post hoc)" if v.registration.post_hoc else ""
            print(f"  {r.preset.name}: {v.claim.text}: {v.verdict}{hoc}{cut}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Copy the README's tables from their one source: `python docs/tables.py [--check] README.md`.

A table that the README shows and docs/RESULTS.md also shows is written once, by
`python -m experiments.results` into docs/RESULTS.md, and copied from there into the README
between marker comments (`<!-- NAME:start -->` ... `<!-- NAME:end -->`). `make docs` runs this
script; `--check` changes nothing and exits 1 when a copy differs from its source, naming it
(tests/end_to_end/test_docs.py runs it, so the two cannot drift apart unseen).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent

# marker name -> (source document, the `<a id="...">` of its section); the copy is the first
# table of that section.
TABLES = {"sweep-table": (DOCS / "RESULTS.md", "context_switch_seeds")}


def source_table(document: Path, anchor: str) -> str:
    """The first Markdown table (its `|` lines) after `<a id="anchor">` in `document`."""
    text = document.read_text(encoding="utf-8")
    start = text.find(f'<a id="{anchor}"></a>')
    if start < 0:
        raise ValueError(f'{document}: no section <a id="{anchor}"></a>')
    end = text.find("<a id=", start + 1)
    section = text[start : end if end > 0 else len(text)]
    table = re.search(r"^\|.*\|\n(?:\|.*\|\n?)+", section, re.MULTILINE)
    if table is None:
        raise ValueError(f"{document}: no table in the section {anchor!r}")
    return table.group(0).rstrip("\n")


def blocks(readme: str) -> dict[str, tuple[int, int]]:
    """Marker name -> (start, end) of the text between its two markers in `readme`."""
    found = {}
    for name in TABLES:
        begin, finish = f"<!-- {name}:start -->\n", f"\n<!-- {name}:end -->"
        start, end = readme.find(begin), readme.find(finish)
        if start < 0 or end < start:
            raise ValueError(f"no {begin.strip()} ... {finish.strip()} block in the README")
        found[name] = (start + len(begin), end)
    return found


def refresh(readme: str) -> tuple[str, list[str]]:
    """The README with every block replaced by its source table; the names that changed."""
    changed = []
    for name, (start, end) in sorted(blocks(readme).items(), key=lambda b: -b[1][0]):
        table = source_table(*TABLES[name])
        if readme[start:end] != table:
            changed.append(name)
            readme = readme[:start] + table + readme[end:]
    return readme, changed


def main(argv: list[str] | None = None) -> int:
    """Rewrite the README's blocks (or, with `--check`, only compare them)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("readme", type=Path, help="the README whose blocks are refreshed")
    parser.add_argument("--check", action="store_true", help="exit 1 if a block is stale")
    args = parser.parse_args(argv)
    try:
        text, changed = refresh(args.readme.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        for name in changed:
            source, anchor = TABLES[name]
            print(
                f"error: {args.readme}: the {name} block differs from {source.name}#{anchor}; "
                "run `make docs`",
                file=sys.stderr,
            )
        return 1 if changed else 0
    if changed:
        args.readme.write_text(text, encoding="utf-8")
        print(f"{args.readme}: refreshed {', '.join(changed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""docs/RESULTS.md as Markdown: headline verdicts, machine, then one section per preset."""

from __future__ import annotations

import os
import platform
import time
from importlib import metadata
from pathlib import Path

import pandas as pd

from experiments.results.stats import NOT_REPRODUCED, PARTLY
from experiments.results.tables import PresetResult, baseline_numbers, model_order, with_axis

README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    """A GitHub Markdown table; `|` inside a cell is escaped."""

    def line(cells: list[object]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *map(line, rows)])


def cell(numbers: pd.DataFrame, metric: str, model: str, axis: object) -> str:
    """`mean ± std (n)` of one metric, model and axis value, `-` where there is none."""
    row = numbers[
        (numbers["metric"] == metric) & (numbers["model"] == model) & (numbers["axis"] == axis)
    ]
    if row.empty:
        return "-"
    mean, std, n = row.iloc[0][["mean", "std", "n"]]
    if metric in ("params",):
        return f"{mean:.0f}"
    return f"{mean:.3g} ± {std:.2g} ({n})" if n > 1 else f"{mean:.3g} (1)"


def machine() -> list[str]:
    """Where and with what the document was built: CPU, cores, memory, versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("tensorflow", "keras", "hydra-core", "numpy", "pandas")
    )
    return [
        f"- Machine: {cpu}, {os.cpu_count()} cores, {memory:.1f} GiB, {platform.system()}",
        f"- Python {platform.python_version()}; {versions}",
    ]


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {seconds:02d} s"


def headline(results: list[PresetResult], link: str = "") -> str:
    """The table of every claim with its verdict, each preset linked to its section of the
    document at `link` ("": this document)."""
    rows = [
        [
            f"[{r.preset.name}]({link}#{r.preset.name})",
            v.claim.text,
            f"**{v.verdict}**",
        ]
        for r in results
        for v in r.verdicts
    ]
    return markdown_table(["preset", "claim", "verdict"], rows)


def shortfalls(results: list[PresetResult]) -> list[str]:
    """The claims not (fully) reproduced, each with the budget it had here."""
    missed = [(r, v) for r in results for v in r.verdicts if v.verdict in (PARTLY, NOT_REPRODUCED)]
    if not missed:
        return []
    lines = [
        "### Not (fully) reproduced at this scale",
        "",
        "The published experiments trained larger models for far longer than these CPU-sized "
        "presets; the settings and criteria were not changed after the runs. Each claim below "
        "with the budget it had here:",
        "",
    ]
    for result, verdict in missed:
        lines.append(
            f"- {result.preset.name}, “{verdict.claim.text}” ({verdict.verdict}): "
            f"{result.sweep.budget if result.sweep else 'not run'}."
        )
    return [*lines, ""]


def command(name: str) -> str:
    """The command that (re)runs one preset into its fixed folder."""
    return f"python -m experiments.train experiment={name} hydra.sweep.dir=outputs/sweeps/{name}"


def _run_lines(result: PresetResult) -> list[str]:
    """Command, folder, runs ok, time and the runs that did not finish ok."""
    lines = [f"Command: `{command(result.preset.name)}`", ""]
    sweep = result.sweep
    if sweep is None:
        return lines + ["**Not run yet**: no sweep of this preset under `outputs/`.", ""]
    runs, ok = sweep.runs, sweep.ok
    failed = runs[runs["status"] != "ok"]
    not_ok = [f"- `{r.run}`: {r.status}: {r.error}" for r in failed.itertuples()]
    if ok.empty:
        return [
            *lines,
            f"Sweep `{sweep.path}`: none of its {len(runs)} runs has finished ok.",
            "",
            *not_ok,
            "",
        ]
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(sweep.last_finish))
    lines.append(
        f"Sweep `{sweep.path}`: {len(ok)} of {len(runs)} runs ok; last run finished {when}; "
        f"training {_duration(ok['train_seconds'].sum())} in all, "
        f"{_duration(sweep.last_finish - sweep.first_start)} from the first run's start to the "
        "last run's end (two jobs at a time; a resumed sweep counts its pause)."
    )
    lines += ["", f"Budget per run: {sweep.budget}.", *not_ok]
    return lines + [""]


def _main_table(result: PresetResult, ok: pd.DataFrame) -> str:
    """Model × axis table of the preset's metric, with the baseline as the last row."""
    preset, numbers = result.preset, result.numbers
    values = sorted(ok["axis"].unique(), key=lambda v: (str(type(v)), v))
    rows = [
        [model, *(cell(numbers, preset.metric, model, v) for v in values)]
        for model in model_order(ok)
    ]
    base = baseline_numbers(ok, preset).set_index("axis")
    rows.append(
        [
            "no-memory baseline",
            *(f"{base.loc[v, 'mean']:.3g}" if v in base.index else "-" for v in values),
        ]
    )
    return markdown_table([f"{preset.metric} \\ {preset.axis}", *map(str, values)], rows)


def _extra_tables(result: PresetResult, ok: pd.DataFrame) -> list[str]:
    """One model × extra-metric table per axis value."""
    preset, lines = result.preset, []
    for value in sorted(ok["axis"].unique(), key=lambda v: (str(type(v)), v)):
        rows = [
            [model, *(cell(result.numbers, m, model, value) for m in preset.extra_metrics)]
            for model in model_order(ok)
            if (ok["model"] == model).any()
        ]
        lines += [
            f"{preset.axis} = {value}:",
            "",
            markdown_table(["model", *preset.extra_metrics], rows),
            "",
        ]
    return lines


def section(result: PresetResult, doc_dir: Path) -> list[str]:
    """One preset: task, runs, tables, plot, published numbers and judged claims."""
    preset = result.preset
    lines = [
        f'<a id="{preset.name}"></a>',
        "",
        f"## {preset.title} (`{preset.name}`)",
        "",
        preset.task,
        "",
        *_run_lines(result),
    ]
    if preset.note:
        lines += [f"Note: {preset.note}", ""]
    if result.sweep is not None and not result.sweep.ok.empty:
        ok = with_axis(result.sweep, preset)
        lines += [
            "Mean ± sample std over seeds (number of seeds):",
            "",
            _main_table(result, ok),
            "",
        ]
        if preset.extra_metrics:
            lines += _extra_tables(result, ok)
        if result.plot is not None:
            lines += [f"![{preset.name}]({os.path.relpath(result.plot, doc_dir)})", ""]
    lines += ["Published:", ""]
    lines += [f"- {what} — {source}" for what, source in preset.published]
    rows = [
        [v.claim.text, v.claim.source, v.claim.criterion, f"**{v.verdict}**", v.evidence]
        for v in result.verdicts
    ]
    lines += ["", markdown_table(["claim", "source", "criterion", "verdict", "evidence"], rows), ""]
    return lines


def render(results: list[PresetResult], doc_dir: Path) -> str:
    """The whole document."""
    lines = [
        "# Results: the classic long-memory results, reproduced on a CPU",
        "",
        "Written by `python -m experiments.results` (the last step of `make results`) from the "
        "newest sweep of each preset under `outputs/`; every number below is computed from the "
        "runs' `metrics.json`, and every verdict by the criterion written beside it "
        "(`experiments/results/presets.py`), fixed with the presets before the runs. "
        "Do not edit by hand.",
        "",
        *machine(),
        "- Run everything: `make results` (each preset resumes in `outputs/sweeps/<preset>`)",
        "",
        "## Verdicts",
        "",
        headline(results, link=""),
        "",
        *shortfalls(results),
    ]
    for result in results:
        lines += section(result, doc_dir)
    return "\n".join(lines).rstrip() + "\n"


def update_readme(readme: Path, results: list[PresetResult], link: str) -> bool:
    """Replace the block between the README's results markers; False when it has none."""
    text = readme.read_text()
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        return False
    block = f"{README_START}\n{headline(results, link)}\n{README_END}"
    readme.write_text(text[:start] + block + text[end + len(README_END) :])
    return True

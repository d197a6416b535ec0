"""docs/RESULTS.md as Markdown: headline verdicts, machine, then one section per preset."""

from __future__ import annotations

import math
import os
import platform
import re
import time
from importlib import metadata
from pathlib import Path

import pandas as pd

from experiments.results import stats
from experiments.results.stats import INCONCLUSIVE, NOT_REPRODUCED, NOT_RUN, Part
from experiments.results.sweeps import configured_budget
from experiments.results.tables import (
    PresetResult,
    Verdict,
    baseline_keys,
    baseline_numbers,
    model_order,
    with_axis,
)

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


def _verdict(result: PresetResult, verdict: Verdict) -> str:
    """`**reproduced**`, and `(provisional: 60 of 135 runs ok)` after it while some of the
    preset's planned runs have not finished (not after *not run*)."""
    sweep = result.sweep
    if sweep is None or not sweep.incomplete or verdict.verdict == NOT_RUN:
        return f"**{verdict.verdict}**"
    return f"**{verdict.verdict}** (provisional: {len(sweep.ok)} of {len(sweep.runs)} runs ok)"


def _fixed(verdict: Verdict) -> str:
    return "**post hoc**" if verdict.registration.post_hoc else "before the runs"


def headline(results: list[PresetResult], link: str = "") -> str:
    """The table of every claim with its verdict and whether its criterion was fixed before its
    runs, each preset linked to its section of the document at `link` ("": this document)."""
    rows = [
        [
            f"[{r.preset.name}]({link}#{r.preset.name})",
            v.claim.text,
            _verdict(r, v),
            _fixed(v),
        ]
        for r in results
        for v in r.verdicts
    ]
    return markdown_table(["preset", "claim", "verdict", "criterion fixed"], rows)


def shortfalls(results: list[PresetResult]) -> list[str]:
    """The claims not reproduced or inconclusive, each with the budget it had here."""
    missed = [
        (r, v) for r in results for v in r.verdicts if v.verdict in (NOT_REPRODUCED, INCONCLUSIVE)
    ]
    if not missed:
        return []
    lines = [
        "### Not reproduced or inconclusive here",
        "",
        "Each claim with the budget it had here; the papers' budgets, where known, are in the "
        "preset's section, and whether each criterion was fixed before its runs is in the table "
        "above.",
        "",
    ]
    for result, verdict in missed:
        lines.append(
            f"- {result.preset.name}, “{verdict.claim.text}” ({verdict.verdict}): "
            f"{result.sweep.budget if result.sweep else 'not run'}."
        )
    return [*lines, ""]


def _number(x: float | None, digits: int = 3) -> str:
    if x is None or math.isnan(x):
        return "-"
    return "∞" if math.isinf(x) else f"{x:.{digits}g}"


def part_row(claim: str, part: Part) -> list[str]:
    """One tested part: test, effect [95% CI], raw and Holm p, detectable effect, verdict."""
    ci = f"[{_number(part.ci[0])}, {_number(part.ci[1])}]"
    effect = f"{_number(part.effect)} {ci}" if part.p is not None else "-"
    return [
        claim,
        part.label,
        part.test,
        part.n,
        effect,
        _number(part.p, 2),
        _number(part.p_holm, 2),
        _number(part.detectable),
        _number(part.margin),
        part.verdict(),
        part.note,
    ]


PART_HEADER = [
    "claim", "part", "test", "n", "effect [95% CI]", "p", "p (Holm)",
    f"detectable (power {stats.POWER})", "margin", "verdict", "note",
]  # fmt: skip


def command(name: str) -> str:
    """The command that (re)runs one preset into its fixed folder."""
    return f"python -m experiments.train experiment={name} hydra.sweep.dir=outputs/sweeps/{name}"


MISSING_NAMED = 8  # missing runs named one by one; the rest are counted


def _missing_lines(missing: pd.DataFrame) -> list[str]:
    r"""`- \`model=lstm,seed=3\`: missing: no metrics.json` for the first few planned runs that
    have not finished, and one line counting the rest."""
    lines = [f"- `{r.run}`: missing: {r.error}" for r in missing.head(MISSING_NAMED).itertuples()]
    if len(missing) > MISSING_NAMED:
        lines.append(f"- and {len(missing) - MISSING_NAMED} more runs missing (no metrics.json)")
    return lines


def _run_lines(result: PresetResult) -> list[str]:
    """Command, folder, runs ok, time and the runs that did not finish ok."""
    lines = [f"Command: `{command(result.preset.name)}`", ""]
    sweep = result.sweep
    if sweep is None:
        return lines + ["**Not run yet**: no sweep of this preset under `outputs/`.", ""]
    runs, ok = sweep.runs, sweep.ok
    failed = runs[~runs["status"].isin(["ok", "missing"])]
    not_ok = [f"- `{r.run}`: {r.status}: {r.error}" for r in failed.itertuples()]
    not_ok += _missing_lines(sweep.missing)
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
    if sweep.incomplete and not ok.empty:
        lines += [
            "",
            f"**Incomplete**: {len(sweep.missing)} of the {len(runs)} planned runs have not "
            "finished, so this preset's verdicts are provisional; the command above resumes them.",
        ]
    lines += ["", f"Budget per run: {sweep.budget}."]
    lines += ["", *not_ok] if not_ok else []
    return lines + [""]


def _main_table(result: PresetResult, ok: pd.DataFrame) -> str:
    """Model × axis table of the preset's metric, with the baseline as the last row."""
    preset, numbers = result.preset, result.numbers
    values = sorted(ok["axis"].unique(), key=lambda v: (str(type(v)), v))
    rows = [
        [model, *(cell(numbers, preset.metric, model, v) for v in values)]
        for model in model_order(ok)
    ]
    for key, name in baseline_keys(preset):
        base = baseline_numbers(ok, preset, key).set_index("axis")
        rows.append(
            [name, *(f"{base.loc[v, 'mean']:.3g}" if v in base.index else "-" for v in values)]
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
        lines += _sensitivity_lines(result)
        if result.curves is not None:
            lines += [
                "Learning curves: the validation metric after each epoch, mean over seeds "
                "(line) and min–max (band); runs stopped early end early.",
                "",
                f"![{preset.name}: learning curves]({os.path.relpath(result.curves, doc_dir)})",
                "",
            ]
    lines += ["Published:", ""]
    lines += [f"- {what} — {source}" for what, source in preset.published]
    lines += ["", *_budget_lines(result)]
    rows = [
        [v.claim.text, v.claim.source, v.claim.criterion, f"**{v.verdict}**", v.registration.text]
        for v in result.verdicts
    ]
    header = ["claim", "source", "criterion (rule)", "verdict", "pre-registration"]
    lines += [markdown_table(header, rows), ""]
    parts = [part_row(v.claim.text, p) for v in result.verdicts for p in v.parts]
    if parts:
        lines += ["The tests behind the verdicts:", "", markdown_table(PART_HEADER, parts), ""]
    return lines


def _budget_lines(result: PresetResult) -> list[str]:
    """The papers' budgets beside this preset's (as configured, and as its runs had it)."""
    preset = result.preset
    rows = [[whose, b.sequences, b.updates, b.model, b.stopping] for whose, b in preset.budgets]
    configured = configured_budget(preset.name)
    if configured is not None:
        b = configured
        rows.append([f"here (`conf/experiment/{preset.name}.yaml`)", b.sequences, b.updates,
                     b.model, b.stopping])  # fmt: skip
    if not rows:
        return []
    lines = ["Budgets (per run):", "", markdown_table(BUDGET_HEADER, rows), ""]
    if result.sweep is not None:
        lines += [f"As its runs had it: {result.sweep.budget}.", ""]
    return lines


BUDGET_HEADER = ["budget", "sequences seen", "updates", "model", "stopping rule"]


def _sensitivity_lines(result: PresetResult) -> list[str]:
    """Per model: the mean validation and test score at every value of the tuned
    hyperparameter, the chosen one in bold, and the spread of the validation means."""
    table, preset = result.sensitivity, result.preset
    if table is None or table.empty:
        return []
    values = sorted(table[preset.tune].unique())
    rows = []
    for (model, axis), group in table.groupby(["model", "axis"], sort=False):
        by_value = group.set_index(preset.tune)
        cells = []
        for v in values:
            if v not in by_value.index:
                cells.append("-")
                continue
            row = by_value.loc[v]
            text = f"{_number(row['val'])} / {_number(row['test'])} ({row['n']})"
            cells.append(f"**{text}**" if row["chosen"] else text)
        spread = group["val"].max() - group["val"].min()
        rows.append([model, axis, *cells, _number(spread)])
    header = ["model", preset.axis, *(f"{preset.tune} {v:g}" for v in values), "val range"]
    return [
        f"Sensitivity to `{preset.tune}`: mean validation / test "
        f"{preset.metric.removeprefix('test_')} over seeds (runs) at each value; in bold the "
        "value chosen by validation, on which the tables above and the verdicts rest; *val "
        "range* is the best minus the worst validation mean (how much the choice matters).",
        "",
        markdown_table(header, rows),
        "",
    ]


RULES = [
    "How a verdict is reached (`experiments/results/stats.py`): each claim is tested in parts "
    "with scipy.stats / statsmodels (Welch's t-test for “different”, TOST equivalence for "
    "“same” with the margin stated in the claim, one-sided t-tests for thresholds and "
    "baselines, a sign test over runs for per-run claims). Every p-value of the document is "
    f"Holm-adjusted together (α = {stats.ALPHA}); a part is *reproduced* when its adjusted "
    "test is significant in the claimed direction, *not reproduced* when the effect is shown "
    "on the wrong side or when its n could detect the claim's margin (power "
    f"{stats.POWER}) and found nothing, and *inconclusive* when its n cannot detect the margin. "
    "A claim is reproduced when all its parts are. Time claims are judged only on processor "
    "seconds per epoch from an interleaved benchmark, never on sweep wall times.",
    "",
    "Pre-registration (`experiments/results/registry.py`): every criterion's code and "
    "parameters are fingerprinted, and `experiments/results/preregistration.json` records when "
    "each fingerprint was registered (`python -m experiments.results --register`); a criterion "
    "registered after its preset's first run started is marked **post hoc**.",
    "",
]


CHANGES_TITLE = "## Verdicts that changed"
_HEADLINE_ROW = re.compile(r"^\| \[(\w+)\]\([^)]*\) \| (.+?) \| \*\*(.+?)\*\*([^|]*)\|(.*)$")
_CHANGED_ROW = re.compile(r"^\| (\w+) \| (.+?) \| \*\*(.+?)\*\* \| \*\*(.+?)\*\*")  # before, now


def previous_verdicts(text: str) -> dict[tuple[str, str], tuple[str, bool, bool]]:
    """`(preset, claim)` → `(verdict, provisional, fixed_column)` from the verdict table of an
    earlier document (`fixed_column`: it had the "criterion fixed" column of the current rules).

    A claim *not run* there whose changed-verdicts table still lists the verdict it had before
    (a document written while its preset waited to run under new rules) keeps that verdict, as
    one judged by the earlier rules: what the reader last saw judged is what "before" shows.
    """
    headline, _, changed = text.partition(CHANGES_TITLE)
    found = {}
    for line in headline.splitlines():
        match = _HEADLINE_ROW.match(line)
        if match:
            preset, claim, verdict, after, rest = match.groups()
            found[(preset, claim)] = (verdict, "provisional" in after, rest.strip() != "")
    for line in changed.split("\n#")[0].splitlines():
        match = _CHANGED_ROW.match(line)
        if match and found.get(match.group(1, 2), ("",))[0] == NOT_RUN == match.group(4):
            found[match.group(1, 2)] = (match.group(3), False, False)
    return found


def _why(before: tuple[str, bool, bool] | None, result: PresetResult, verdict: Verdict) -> str:
    """Why a claim's verdict differs from the earlier document's, as far as the two tell."""
    if before is None:
        return "a new claim"
    was, was_provisional, fixed_column = before
    sweep = result.sweep
    if verdict.verdict == NOT_RUN:
        return "its preset has not run under the current rules yet (`make results` runs it)"
    if was == NOT_RUN:
        return "its preset has run since"
    if not fixed_column:
        return "first judged by the current rules (see the top of this page), on new runs"
    if sweep is not None and sweep.incomplete:
        return "its sweep is incomplete: provisional"
    if was_provisional:
        return "its sweep has finished"
    if verdict.registration.post_hoc:
        return "its criterion changed after its runs started (post hoc)"
    return "new or more runs of the same criterion"


def changes(previous: str | None, results: list[PresetResult]) -> list[str]:
    """The section listing each claim whose verdict differs from the `previous` document's,
    from what to what and why; the previous document's own section when nothing changed since
    (so a rerun without new runs keeps it); nothing without a previous document."""
    if not previous:
        return []
    before = previous_verdicts(previous)
    rows = [
        [r.preset.name, v.claim.text, f"**{before[key][0]}**" if key in before else "-",
         _verdict(r, v), _why(before.get(key), r, v)]
        for r in results
        for v in r.verdicts
        if (key := (r.preset.name, v.claim.text)) not in before
        or (before[key][0], before[key][1]) != (v.verdict, bool(r.sweep and r.sweep.incomplete))
    ]  # fmt: skip
    if not rows:
        start = previous.find(CHANGES_TITLE)
        if start < 0:
            return []
        end = previous.find("\n#", start + 1)  # the next heading
        return previous[start : end if end > 0 else len(previous)].rstrip().splitlines() + [""]
    when = time.strftime("%Y-%m-%d", time.gmtime())
    return [
        CHANGES_TITLE,
        "",
        f"Compared on {when} with the document this one replaced: each claim whose verdict is "
        "not the one it had there, from what to what, and why as far as the two documents tell.",
        "",
        markdown_table(["preset", "claim", "before", "now", "why"], rows),
        "",
    ]


def render(results: list[PresetResult], doc_dir: Path, previous: str | None = None) -> str:
    """The whole document; `previous`, the text of the document it replaces (its verdicts are
    compared, see `changes`)."""
    lines = [
        "# Results: the classic long-memory results, reproduced on a CPU",
        "",
        "Written by `python -m experiments.results` (the last step of `make results`) from the "
        "newest sweep of each preset under `outputs/`; every number below is computed from the "
        "runs' `metrics.json`, and every verdict by the criterion written beside it "
        "(`experiments/results/presets.py`). Do not edit by hand.",
        "",
        *RULES,
        "",
        *machine(),
        "- Run everything: `make results` (each preset resumes in `outputs/sweeps/<preset>`)",
        "",
        "## Verdicts",
        "",
        headline(results, link=""),
        "",
        *changes(previous, results),
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

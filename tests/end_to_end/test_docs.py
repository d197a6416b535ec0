"""The README and the documentation site say what the code does: every `make …` and `python -m …`
command they show exists as typed (Hydra overrides included), the tables they share are copied
from one source, and a copied table that drifts is caught."""

from __future__ import annotations

import re
import runpy
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.cli import launchers
from experiments.cli.config import register_schemas
from experiments.cli.preflight import check_command_line
from tests.conftest import CONF, REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
PLACEHOLDER = re.compile(
    r"<[^>\s]*>|…|\.\.\.|=S\b|\bSWEEP_DIR\b|\bRUN_DIR\b|\bLOGDIR\b(?!=)|\bRUN\b"
)
ENV_PREFIX = re.compile(r"^(?:[A-Z_][A-Z0-9_]*=\S*\s+)+")
COMMAND = re.compile(r"^make(\s+[\w.-]+(=\S+)?)*$|^python (-m [a-z_.]+|docs/\S+\.py)(\s|$)")


def commands() -> list[tuple[str, str]]:
    """`(page, command)` for every `make …`, `python -m …` and `python docs/…` command in a code
    block or an inline code span of the README and the docs, comments and `$ ` prompts removed,
    backslash-continued lines joined, leading `VAR=value` assignments dropped."""
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        lines = []
        for language, block in re.findall(r"^```(\w*)\n(.*?)^```", text, re.DOTALL | re.M):
            if language in ("bash", "sh", "console", ""):
                lines += re.sub(r"\\\n\s*", " ", block).splitlines()
        prose = re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.M)
        lines += re.findall(r"(?<!`)`([^`\n]+)`(?!`)", prose)
        for line in lines:
            line = ENV_PREFIX.sub("", line.split(" #")[0].strip().removeprefix("$ "))
            if COMMAND.match(line):
                found.append((str(page.relative_to(REPO)), line))
    return sorted(set(found))


def make_targets() -> set[str]:
    makefile = (REPO / "Makefile").read_text()
    return set(re.findall(r"^([a-zA-Z][\w-]*):", makefile, re.MULTILINE))


def module_file(module: str) -> Path | None:
    """The file `python -m module` runs, or None when there is none in the repository."""
    base = REPO / Path(*module.split("."))
    for candidate in (base / "__main__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


ALL = commands()


def test_the_pages_show_commands():
    """The extraction itself: the README's first commands are found."""
    readme = [command for page, command in ALL if page == "README.md"]
    assert {"make sweep", "make test"} <= set(readme)
    assert any(command.startswith("python -m experiments.train") for command in readme)


def shown(prefix: str) -> dict[str, list[str]]:
    """Command (or, for `python -m`, module) → the pages that show it."""
    by: dict[str, list[str]] = {}
    for page, command in ALL:
        if command.startswith(prefix):
            key = command.split()[2] if prefix == "python -m" else command
            by.setdefault(key, []).append(page)
    return by


MAKE, MODULES, SCRIPTS = shown("make"), shown("python -m"), shown("python docs/")


@pytest.mark.parametrize("command", sorted(MAKE))
def test_every_make_command_is_a_target(command):
    words = shlex.split(command)
    targets = [w for w in words[1:] if "=" not in w and not w.startswith("-")]
    assert set(targets) <= make_targets(), f"{MAKE[command]}: `{command}`"
    dry = subprocess.run(["make", "-n", *words[1:]], cwd=REPO, capture_output=True, text=True)
    assert dry.returncode == 0, f"{MAKE[command]}: `{command}`: {dry.stderr}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_runs_with_python_m(module, monkeypatch):
    """It exists, runs as `python -m`, and answers `--help` when it parses arguments."""
    path = module_file(module)
    assert path is not None, f"{MODULES[module]}: no module {module}"
    source = path.read_text()
    assert path.name == "__main__.py" or '__name__ == "__main__"' in source, module
    if "ArgumentParser" in source and module != "experiments.train":
        monkeypatch.setattr(sys, "argv", [module, "--help"])
        with pytest.raises(SystemExit) as exited:  # argparse's --help: usage, exit 0
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        assert exited.value.code == 0, f"{MODULES[module]}: `python -m {module} --help`"


@pytest.mark.parametrize("command", sorted(SCRIPTS))
def test_every_script_exists(command):
    assert (REPO / command.split()[1]).is_file(), f"{SCRIPTS[command]}: `{command}`"


def training_commands() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """`python -m experiments.train …` commands without placeholders, each with the pages that
    show it: (presets run as they are, the others)."""
    presets: dict[str, list[str]] = {}
    others: dict[str, list[str]] = {}
    for page, command in ALL:
        if command.startswith("python -m experiments.train ") and not PLACEHOLDER.search(command):
            overrides = shlex.split(command)[3:]
            preset = all(o.startswith(("experiment=", "hydra.sweep.dir=")) for o in overrides)
            (presets if preset else others).setdefault(command, []).append(page)
    return presets, others


PRESETS, TRAIN = training_commands()


@pytest.mark.parametrize("command", sorted(PRESETS))
def test_every_preset_command_names_a_preset(command):
    """Presets compose and validate in tests/experiments/test_config.py; here, that the one
    named exists."""
    (name,) = [o.split("=", 1)[1] for o in command.split() if o.startswith("experiment=")]
    assert (CONF / "experiment" / f"{name}.yaml").is_file(), f"{PRESETS[command]}: `{command}`"


CLUSTER = [  # the partitions the guide's Slurm commands name
    launchers.Partition("debug", True, 64000, 16),
    launchers.Partition("cpu", False, 256000, 32),
]


@pytest.mark.parametrize("command", sorted(TRAIN))
def test_every_training_command_is_accepted(command, tmp_path, monkeypatch, capsys):
    """The command-line check of `python -m experiments.train` (the one that refuses bad
    overrides in one line before anything runs) accepts every other command shown, run from a
    folder that holds `python -m data.examples outputs/own_data`'s files."""
    if "outputs/own_data/" in command:
        monkeypatch.setattr(sys, "argv", ["data.examples", str(tmp_path / "outputs/own_data")])
        runpy.run_module("data.examples", run_name="__main__", alter_sys=True)
    monkeypatch.chdir(tmp_path)
    register_schemas()  # as `python -m experiments.train` does before its check
    # A Slurm command is shown for the reader's cluster: checked against a cluster that has the
    # partitions it names (what `sinfo` would list there), not against this machine's.
    monkeypatch.setattr(launchers, "partitions", lambda: CLUSTER)
    try:
        check_command_line(shlex.split(command)[3:], CONF)
    except SystemExit as exc:
        error = capsys.readouterr().err.strip()
        pytest.fail(f"{TRAIN[command]}: `{command}` is refused: {error} ({exc})")


def tables(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "docs/tables.py", *args], cwd=REPO, capture_output=True, text=True
    )


def test_the_readme_tables_are_copies_of_their_source(tmp_path):
    checked = tables("--check", "README.md")
    assert checked.returncode == 0, checked.stderr
    stale = tmp_path / "README.md"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert readme.count("\n| rnn | ") == 1  # the sweep table's first row, whatever its numbers
    stale.write_text(readme.replace("\n| rnn | ", "\n| rnn | 9"))  # 0.99 ± ... → 90.99 ± ...
    drifted = tables("--check", str(stale))
    assert drifted.returncode == 1 and "sweep-table" in drifted.stderr
    assert tables(str(stale)).returncode == 0  # refreshing puts the source's table back
    assert stale.read_text(encoding="utf-8") == readme

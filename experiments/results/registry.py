"""Enforced pre-registration: when each claim's criterion was first seen, against its runs.

A criterion's fingerprint is the sha256 of its rule's code and parameters: the test function's
syntax tree (docstrings, comments and formatting left out), and transitively that of every
function, class and constant of `experiments.results` it refers to (the statistics and the
verdict rule included), plus the parameters. `preregistration.json`, committed beside the
presets, lists per claim every fingerprint with the time it was first registered
(`python -m experiments.results --register`). A claim whose current fingerprint was registered
after its preset's first run started — or never — is *post hoc*.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experiments.results.claims import Claim, Preset

REGISTRY = Path(__file__).with_name("preregistration.json")
PACKAGE = "experiments.results"


def _canonical(obj: Any) -> str:
    """The syntax tree of `obj`'s source without docstrings (formatting and comments drop out)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def _ours(obj: Any) -> bool:
    return getattr(obj, "__module__", "").startswith(PACKAGE) and (
        inspect.isfunction(obj) or inspect.isclass(obj)
    )


def _names(code: Any) -> set[str]:
    """Global names `code` and the functions nested in it refer to."""
    names = set(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):
            names |= _names(const)
    return names


def _code(obj: Callable, seen: dict[str, str]) -> None:
    """Add `obj` and what it refers to in the package (transitively) to `seen` (name → text)."""
    name = f"{obj.__module__}.{obj.__qualname__}"
    if name in seen:
        return
    seen[name] = _canonical(obj)
    functions = [obj] if inspect.isfunction(obj) else list(vars(obj).values())
    for function in filter(inspect.isfunction, functions):
        for ref in _names(function.__code__):
            value = function.__globals__.get(ref)
            if _ours(value):
                _code(value, seen)
            elif isinstance(value, int | float | str):
                seen[f"{function.__module__}.{ref}"] = repr(value)
            elif inspect.ismodule(value) and value.__name__.startswith(PACKAGE):
                for attr in _names(function.__code__):
                    member = getattr(value, attr, None)
                    if _ours(member):
                        _code(member, seen)
                    elif isinstance(member, int | float | str):
                        seen[f"{value.__name__}.{attr}"] = repr(member)


def fingerprint(claim: Claim) -> str:
    """sha256 (hex) of the claim's rule: its code (see the module docstring) and parameters."""
    seen: dict[str, str] = {}
    _code(claim.rule.test, seen)
    text = json.dumps({"code": seen, "params": claim.rule.params}, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def key(preset: Preset, claim: Claim) -> str:
    """The claim's name in the registry."""
    return f"{preset.name}: {claim.text}"


def load(path: Path = REGISTRY) -> dict[str, list[dict[str, Any]]]:
    """Claim → its registered criteria, oldest first: `fingerprint`, `registered` (POSIX s),
    `origin` (how it came to be registered)."""
    if not path.is_file():
        return {}
    return json.loads(path.read_text())["claims"]


def register(presets: tuple[Preset, ...], path: Path = REGISTRY, now: float | None = None):
    """Add every claim whose current fingerprint is not yet registered, at `now` (default: the
    clock); earlier entries are kept. Returns the claims added, as registry keys."""
    claims = load(path)
    now = time.time() if now is None else now
    added = []
    for preset in presets:
        for claim in preset.claims:
            entries = claims.setdefault(key(preset, claim), [])
            print_ = fingerprint(claim)
            if all(e["fingerprint"] != print_ for e in entries):
                entries.append({"fingerprint": print_, "registered": now, "origin": "--register"})
                added.append(key(preset, claim))
    about = "Written by `python -m experiments.results --register`; see registry.py. Append only."
    path.write_text(json.dumps({"about": about, "claims": claims}, indent=1, ensure_ascii=False))
    return added


def when(seconds: float) -> str:
    """`2026-11-26 13:11 UTC`."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(seconds))


@dataclass(frozen=True)
class Registration:
    """Whether a claim's criterion was fixed before its preset's first run, in words."""

    post_hoc: bool
    text: str


def status(entries: list[dict[str, Any]], claim: Claim, first_run: float | None) -> Registration:
    """Compare the registration of `claim`'s current criterion with the first run's start
    (None: no run yet); the text also names the earlier criteria of the claim."""
    print_ = fingerprint(claim)
    mine = [e for e in entries if e["fingerprint"] == print_]
    earlier = [e for e in entries if e["fingerprint"] != print_]
    history = "".join(f"; an earlier criterion registered {when(e['registered'])} "
                      f"({e['origin']})" for e in earlier)  # fmt: skip
    runs = "no run yet" if first_run is None else f"the first run started {when(first_run)}"
    if not mine:
        return Registration(first_run is not None, f"criterion not registered; {runs}{history}")
    fixed = mine[0]["registered"]
    post_hoc = first_run is not None and fixed > first_run
    order = "after" if post_hoc else "before"
    text = f"criterion registered {when(fixed)}, {order} {runs.removeprefix('no run yet')}"
    if first_run is None:
        text = f"criterion registered {when(fixed)}; no run yet"
    return Registration(post_hoc, text + history)

"""What a person types into the gate explorer → the model's input, and the model's output → what
the page shows. Numpy only; every refusal is an `InputError` whose message the page shows.

Token tasks read `text`: words separated by whitespace (context_switch, copy), or characters
(text, temporal_order: every character is a token, spaces and newlines included), or by the
run's own rule (`preprocessing.json`); token ids typed as numbers when the run has no
vocabulary. Feature tasks read `values`: a JSON array `(time, features)` (a flat list when the
task has one feature).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from experiments import outputs

MAX_STEPS = 1000  # longest input a `trace` accepts (tokens, characters or steps)
MAX_ID = 2**31 - 1  # the largest token id an int32 input holds (the model names its own range)
MAX_LISTED = 300  # vocabulary entries an error message lists (own tables' can be 10,000s)
TOP_CLASSES = 5
FLOAT32_MAX = float(np.finfo(np.float32).max)
UNK = "<unk>"  # data.own.UNK: id 1 of a vocabulary built from one's own data
VISIBLE = {"\n": "⏎", " ": "␣", "\t": "⇥"}  # whitespace tokens shown as signs
SWITCH_WORDS = {"but": 2, "and": 1}  # context_switch: the words before the filler ("but bob")


class InputError(ValueError):
    """A request the person can fix: the plugin answers it with status 400 and this message."""


def visible(token: str) -> str:
    """A token or label as the page prints it: whitespace as a visible sign."""
    return VISIBLE.get(token, token)


def typeable(task: dict[str, Any]) -> dict[str, int]:
    """Token → id for every vocabulary entry one can type (padding and `<...>` markers left out)."""
    return {
        token: i
        for i, token in enumerate(task["vocab"])
        if i > 0 and not (len(token) > 2 and token.startswith("<") and token.endswith(">"))
    }


def _check_length(steps: int, unit: str) -> None:
    if steps == 0:
        raise InputError(f"the input is empty: type at least one {unit}")
    if steps > MAX_STEPS:
        raise InputError(f"the input has {steps} {unit}s; at most {MAX_STEPS} are allowed")


def _token_id(word: str) -> int | None:
    """A typed token id, or None when `word` is no whole number in [0, `MAX_ID`] (read digit by
    digit only when short enough: Python refuses to read a number of over 4,300 digits)."""
    significant = word.lstrip("0") or "0"
    if not (word.isascii() and word.isdigit() and len(significant) <= len(str(MAX_ID))):
        return None
    return int(significant) if int(significant) <= MAX_ID else None


def _ids(text: str) -> tuple[np.ndarray, list[str]]:
    """Token ids typed as numbers (a token run without a vocabulary file)."""
    words = text.split()
    _check_length(len(words), "token id")
    ids = [_token_id(w) for w in words]
    bad = [w for w, i in zip(words, ids) if i is None]
    if bad:
        listed = ", ".join(repr(w) for w in dict.fromkeys(bad))
        raise InputError(
            f"not token ids: {listed}. This run has no vocabulary ({outputs.PREPROCESSING} "
            f"beside its SavedModel): type token ids, whole numbers in [0, {MAX_ID}] separated "
            "by spaces (0 is padding)"
        )
    return np.array([ids], dtype=np.int32), words


def encode_text(task: dict[str, Any], text: str) -> tuple[np.ndarray, list[str], list[str]]:
    """`text` as token ids `(1, time)` int32, the tokens as the model reads them (whitespace made
    visible) and the typed tokens read as `<unk>`.

    Tokens are split by the run's rule when it has one (`task["rule"]`, from
    `preprocessing.json`: `data.own.tokenize`, lower-casing included), else by whitespace
    (characters for a character vocabulary). A vocabulary with `<unk>` reads unknown tokens as
    it, as training did; any other vocabulary refuses them (all listed, with the vocabulary).
    Raises `InputError` for an empty or too long input, a feature task or refused tokens.
    """
    if task["input_kind"] != "tokens":
        raise InputError(
            f"task {task['name']!r} reads features, not text: send `values`, a JSON array "
            f"(time, {task['input_dim']})"
        )
    if task["vocab"] is None:
        x, words = _ids(text)
        return x, words, []
    unit = "character" if task["characters"] else "word"
    if task.get("rule"):
        from data.own import tokenize

        tokens = tokenize(text, task["rule"]["tokens"], task["rule"]["lowercase"])
    else:
        tokens = list(text) if task["characters"] else text.split()
    _check_length(len(tokens), unit)
    ids = typeable(task)
    unknown = list(dict.fromkeys(t for t in tokens if t not in ids))
    has_unk = len(task["vocab"]) > 1 and task["vocab"][1] == UNK
    if unknown and not has_unk:
        allowed = " ".join(visible(t) for t in list(ids)[:MAX_LISTED])
        if len(ids) > MAX_LISTED:
            allowed += f" … ({len(ids)} in all; the first {MAX_LISTED} listed)"
        listed = ", ".join(repr(t) for t in unknown)
        raise InputError(f"not in the run's vocabulary: {listed}. Allowed {unit}s: {allowed}")
    x = np.array([[ids.get(t, 1) for t in tokens]], dtype=np.int32)
    return x, [visible(t) if t in ids else UNK for t in tokens], unknown


def notes(task: dict[str, Any], tokens: list[str]) -> list[str]:
    """Where typed tokens leave what the run was trained on, by its task's facts
    (`Task.tutorial`): a first food that is not the first name's favourite (`favourite`), and
    another number of filler words than `filler` between the switch ("but <name>" / "and") and
    "[also] likes ___" (context_switch's sentence shape). Empty when the sentence is in
    distribution or the task states no facts; the page shows each note beside the answer."""
    facts = (task.get("tutorial") or {}).get("facts") or {}
    found = []
    favourite = facts.get("favourite") or {}
    names = [i for i, t in enumerate(tokens) if t in favourite]
    foods = [i for i, t in enumerate(tokens) if t in favourite.values()]
    if names and foods and foods[0] > names[0]:
        name, food = tokens[names[0]], tokens[foods[0]]
        if favourite[name] != food:
            found.append(
                f"{name}'s favourite food is {favourite[name]} in this run (the table): it never "
                f'saw "{name} likes {food}" (a training sentence\'s first food is always its first '
                "name's favourite), so its answer to this sentence tells little"
            )
    filler = facts.get("filler")
    if filler is None:
        return found
    switch = next((i for i, t in enumerate(tokens) if t in SWITCH_WORDS), None)
    blank = max((i for i, t in enumerate(tokens) if t == "likes"), default=-1)
    if switch is None or blank < switch:
        found.append(
            f'no "but <name>" or "and" before "likes ___": every training sentence has one, then '
            f"{filler} filler words"
        )
        return found
    start = switch + SWITCH_WORDS[tokens[switch]]
    words = blank - start - (tokens[blank - 1] == "also")
    if words != filler:
        found.append(
            f'{words} words between "{" ".join(tokens[switch:start])}" and "likes": this run was '
            f"trained with exactly {filler} filler words there, so a longer or shorter gap is "
            "outside what it learnt"
        )
    return found


def vocabulary(task: dict[str, Any], start: str, count: str) -> dict[str, Any]:
    """The `vocab` route's page of typeable tokens: `total`, `start` and up to `count` (at most
    `MAX_LISTED`) `tokens` from `start`, whitespace made visible. `start`, `count`: as typed."""
    if task["input_kind"] != "tokens" or task["vocab"] is None:
        raise InputError(f"task {task['name']!r} has no vocabulary to list")
    try:
        first, n = int(start), int(count)
    except ValueError:
        first = n = -1
    if first < 0 or not 1 <= n <= MAX_LISTED:
        raise InputError(
            f"`start` must be a whole number >= 0 and `count` one in [1, {MAX_LISTED}]; got "
            f"start={start!r}, count={count!r}"
        )
    tokens = list(typeable(task))[first : first + n]
    return {"total": len(typeable(task)), "start": first, "tokens": [visible(t) for t in tokens]}


def parse_values(task: dict[str, Any], raw: str) -> np.ndarray:
    """`raw`, a JSON array `(time, features)`, as the model's input `(1, time, features)` float32.

    Raises `InputError` for a token task, unreadable JSON, a wrong shape, non-finite numbers, an
    empty or too long input.
    """
    features = task["input_dim"]
    if task["input_kind"] != "features":
        raise InputError(f"task {task['name']!r} reads text, not values: send `text`")
    expected = f"a JSON array of shape (time, {features}), e.g. [[0.5, 1], [0.2, 0]]"
    try:
        values = np.asarray(json.loads(raw), dtype=np.float64)
    except (ValueError, TypeError, RecursionError) as exc:  # RecursionError: "[[[[..." nesting
        raise InputError(f"`values` is not {expected}: {exc}") from None
    if values.size == 0:
        _check_length(0, "step")
    if values.ndim == 1 and features == 1:
        values = values[:, None]
    if values.ndim != 2 or values.shape[1] != features:
        raise InputError(f"`values` has shape {values.shape}; expected {expected}")
    _check_length(len(values), "step")
    if not np.isfinite(values).all():
        raise InputError("`values` holds NaN or infinity; every value must be a finite number")
    with np.errstate(over="ignore"):
        x = values[None].astype(np.float32)
    overflow = np.flatnonzero(~np.isfinite(x))  # finite float64, beyond float32's ±3.4e38
    if overflow.size:
        step, feature = np.unravel_index(overflow[0], values.shape)
        raise InputError(
            f"`values` holds {values[step, feature]:g} (step {step}, feature {feature}), beyond "
            f"what the model's float32 input holds; allowed: numbers within ±{FLOAT32_MAX:.4g}"
        )
    return x


def check_finite(y: np.ndarray, gates: dict[str, dict[str, np.ndarray]]) -> None:
    """Refuse a trace whose outputs or gates hold NaN or infinity (finite inputs so large that
    the model's float32 arithmetic overflows): the page would show them as numbers.

    Raises:
        InputError: naming the first non-finite value and where it is.
    """
    arrays = {"the prediction": y} | {
        f"gate {layer}/{gate}": v for layer, lg in gates.items() for gate, v in lg.items()
    }
    for where, values in arrays.items():
        bad = np.flatnonzero(~np.isfinite(np.asarray(values, dtype=np.float64)))
        if bad.size:
            value = np.ravel(values)[bad[0]]
            raise InputError(
                f"{where} is {value} for this input (float32 overflow inside the model); "
                "allowed: inputs for which it is finite, e.g. values nearer the training data's"
            )


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def label(task: dict[str, Any], index: int) -> str:
    """Output class `index` by name (visible whitespace), or its number."""
    labels = task["labels"]
    return visible(labels[index]) if labels else str(index)


def prediction(task: dict[str, Any], outputs: np.ndarray) -> dict[str, Any]:
    """The page's prediction from one example's outputs, `(n_outputs,)` or `(time, n_outputs)`.

    Classification: `top`, the `TOP_CLASSES` most probable classes (`label`, `probability`) at
    the last step (softmax of the logits); regression: `value`. Per-step tasks (`at`: "last step")
    add `steps`, the most probable label (or the value) at every step.
    """
    outputs = np.asarray(outputs, dtype=np.float64)
    last = outputs[-1] if task["output"] == "sequence" else outputs
    result: dict[str, Any] = {"at": "last step" if task["output"] == "sequence" else None}
    if task["n_outputs"] > 1:
        probabilities = _softmax(last)
        order = np.argsort(-probabilities, kind="stable")[:TOP_CLASSES]
        result["top"] = [
            {"label": label(task, int(i)), "probability": float(probabilities[i])} for i in order
        ]
        if task["output"] == "sequence":
            result["steps"] = [label(task, int(i)) for i in outputs.argmax(axis=-1)]
    else:
        result["value"] = float(last[0])
        if task["output"] == "sequence":
            result["steps"] = [float(v) for v in outputs[:, 0]]
    return result

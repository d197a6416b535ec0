"""Behaviour of the tasks in `data/`: configs, determinism, labels, baselines, splits, errors.

Labels are checked by re-deriving them from the inputs (parsing sentences, reading markers,
decoding symbols), never by calling a generator a second time. numpy only: no TensorFlow.
"""

from __future__ import annotations

import inspect
import itertools
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from data import (
    AddingTask,
    ContextSwitchTask,
    CopyTask,
    DigitsTask,
    Task,
    TemporalOrderTask,
    TextTask,
)
from data import context_switch as cs
from data import text as text_module
from data.digits import pixel_permutation
from data.temporal_order import key_windows

CONF = Path(__file__).resolve().parents[2] / "conf" / "data"
TINY = {"n_train": 40, "n_val": 12, "n_test": 12}
GENERATED = ("context_switch", "adding", "copy", "temporal_order", "text")
SEQ_LENS = {
    "context_switch": (1, 5, 40),
    "adding": (2, 7, 100),
    "copy": (1, 10, 100),
    "temporal_order": (10, 33, 100),
    "text": (1, 16, 100),
}
CLASSES = {
    "context_switch": ContextSwitchTask,
    "adding": AddingTask,
    "copy": CopyTask,
    "temporal_order": TemporalOrderTask,
    "digits": DigitsTask,
    "text": TextTask,
}


def from_config(name: str, seed: int = 0, **overrides) -> Task:
    """Instantiates `conf/data/<name>.yaml` as the top-level config would, with `overrides`."""
    root = OmegaConf.create({"seed": seed, "data": OmegaConf.load(CONF / f"{name}.yaml")})
    return instantiate(root.data, **overrides)


def tiny(name: str, seed: int = 0, **overrides) -> Task:
    """A task from its config with tiny split sizes (digits has fixed sizes)."""
    sizes = {} if name == "digits" else TINY
    return from_config(name, seed, **{**sizes, **overrides})


def words(task: Task, row: np.ndarray) -> list[str]:
    """The tokens of one example, padding dropped."""
    return [task.spec.vocab[i] for i in row if i != 0]


def random_outputs(task: Task, split, rng: np.random.Generator) -> np.ndarray:
    """Model-shaped random outputs for `split`."""
    n = len(split)
    if not task.spec.is_classification:
        return rng.random((n, 1))
    if task.spec.output == "sequence":
        return rng.normal(size=(n, split.y.shape[1], task.spec.n_outputs))
    return rng.normal(size=(n, task.spec.n_outputs))


# --- configs and specs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "seq_len"), [(n, t) for n in GENERATED for t in SEQ_LENS[n]] + [("digits", None)]
)
def test_builds_from_config(name, seq_len):
    task = tiny(name) if seq_len is None else tiny(name, seq_len=seq_len)
    spec, splits = task.spec, task.splits()
    assert spec.name == name and set(splits) == {"train", "val", "test"}
    rng = np.random.default_rng(0)
    for split in splits.values():
        if spec.input_kind == "tokens":
            assert split.x.dtype == np.int32 and split.x.ndim == 2
            assert spec.vocab[0] == "<pad>" and spec.input_dim == len(spec.vocab)
            assert 0 <= split.x.min() and split.x.max() < spec.input_dim
        else:
            assert spec.input_kind == "features" and split.x.dtype == np.float32
            assert split.x.shape[1:] == (spec.seq_len, spec.input_dim) and split.mask is None
        if spec.output == "sequence":
            assert split.y.shape == split.x.shape[:2]
        metrics = task.metrics(random_outputs(task, split, rng), split)
        assert spec.primary_metric in metrics
        assert all(np.isfinite(v) for v in metrics.values())
        for key, value in split.positions.items():
            assert len(value) == len(split), key
    if name != "digits":
        assert spec.seq_len == seq_len
    assert spec.primary_metric in task.baselines()


# What each task's model reads and predicts, from the tasks' definitions (docs/REFERENCES.md):
# (input_kind, input_dim, output, n_outputs, primary_metric, higher_is_better).
SPECS = {
    "adding": ("features", 2, "last", 1, "mse", False),  # value and marker channels -> the sum
    "context_switch": ("tokens", 43, "last", 8, "accuracy", True),  # 42 words + pad -> a food
    "copy": ("tokens", 11, "sequence", 9, "ce", False),  # 8 symbols, blank, delimiter, pad
    "digits": ("features", 8, "last", 10, "accuracy", True),  # a row of 8 pixels -> a digit
    "temporal_order": ("tokens", 9, "last", 4, "accuracy", True),  # a-d, X, Y, B, E, pad
    "text": ("tokens", 98, "sequence", 98, "bpc", False),  # next character of 98
}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_specs_say_what_the_model_reads_and_predicts(name):
    spec = tiny(name).spec
    fields = ("input_kind", "input_dim", "output", "n_outputs", "primary_metric")
    assert tuple(getattr(spec, f) for f in fields) + (spec.higher_is_better,) == SPECS[name]
    assert tiny("temporal_order", variant="3bit").spec.n_outputs == 8


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_class_defaults_match_config(name):
    config = OmegaConf.to_container(OmegaConf.load(CONF / f"{name}.yaml"))
    assert config.pop("_target_") == f"data.{name}.{CLASSES[name].__name__}"
    assert config.pop("seed") == "${seed}"
    params = inspect.signature(CLASSES[name]).parameters
    assert set(params) == set(config) | {"seed"}
    assert {key: params[key].default for key in config} == config


# --- determinism --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_same_seed_same_data_other_seed_other_data(name):
    first, again, other = (tiny(name, seed=s).splits() for s in (3, 3, 4))
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(first[split].x, again[split].x)
        np.testing.assert_array_equal(first[split].y, again[split].y)
        for key, value in first[split].positions.items():
            np.testing.assert_array_equal(value, again[split].positions[key])
        assert first[split].x.shape != other[split].x.shape or not np.array_equal(
            first[split].x, other[split].x
        )


def test_context_switch_table_depends_on_seed_only():
    tables = [tiny("context_switch", seed=s, seq_len=t).favourite for s, t in ((0, 3), (0, 9))]
    np.testing.assert_array_equal(*tables)
    assert sorted(tables[0]) == list(range(8))
    assert not np.array_equal(tables[0], tiny("context_switch", seed=1).favourite)


# --- labels, re-derived from the inputs ---------------------------------------------------------


@pytest.mark.parametrize("seq_len", [2, 3, 51])
def test_adding_target_is_the_sum_of_the_marked_values(seq_len):
    split = tiny("adding", seq_len=seq_len).splits()["train"]
    for x, y, markers in zip(split.x, split.y, split.positions["markers"], strict=True):
        marked = np.flatnonzero(x[:, 1])
        assert len(marked) == 2 and np.all(x[marked, 1] == 1.0)
        assert marked[0] < seq_len // 2 <= marked[1]
        assert y[0] == pytest.approx(x[marked[0], 0] + x[marked[1], 0], abs=1e-6)
        np.testing.assert_array_equal(markers, marked)
    assert 0.0 <= split.x[..., 0].min() and split.x[..., 0].max() < 1.0


@pytest.mark.parametrize(("seq_len", "distractor_frac"), [(1, 0.3), (6, 0.0), (20, 0.3), (9, 1.0)])
def test_context_switch_answer_follows_the_grammar(seq_len, distractor_frac):
    task = tiny("context_switch", seq_len=seq_len, distractor_frac=distractor_frac, n_train=100)
    split = task.splits()["train"]
    filler_names = 0
    # Every first clause states its name's favourite food: rebuild the table from them.
    stated = {(w[0], w[w.index("likes") + 1]) for w in (words(task, r) for r in split.x)}
    table = dict(stated)
    assert len(table) == len(stated), "a name has two favourite foods"
    assert sorted(table.values()) == sorted(set(table.values()))
    assert all(cs.FOODS[task.favourite[cs.NAMES.index(n)]] == f for n, f in table.items())
    for row, y, *pos in zip(split.x, split.y, *split.positions.values(), strict=True):
        w = words(task, row)
        conj = w.index("but") if "but" in w else w.index("and")
        switch = w[conj] == "but"
        subject = conj + 1 if switch else 0
        end = len(w) - (2 if switch else 3)  # before "[also] likes ___"
        filler = w[subject + 1 if switch else conj + 1 : end]
        assert w[-2:] == ["likes", "___"] and w[1:conj] in (
            ["likes", w[2]],
            ["really", "likes", w[3]],
        )
        assert len(filler) == seq_len and all(f in cs.FILLER or f in cs.NAMES for f in filler)
        assert w[subject] not in filler
        filler_names += sum(f in cs.NAMES for f in filler)
        assert cs.FOODS[y] == table[w[subject]]
        assert row[len(w) - 1] == cs.ID["___"] and np.all(row[len(w) :] == 0)
        assert dict(zip(split.positions, pos, strict=True)) == {
            "switch": conj,
            "subject": subject,
            "blank": len(w) - 1,
            "is_switch": int(switch),
        }
    assert (filler_names > 0) == (distractor_frac > 0)
    n_switch = split.positions["is_switch"].sum()
    assert n_switch == (len(split) + 1) // 2


@pytest.mark.parametrize("seq_len", [1, 2, 30])
def test_copy_target_decodes_to_the_first_ten_symbols(seq_len):
    task = tiny("copy", seq_len=seq_len)
    split = task.splits()["train"]
    vocab, labels = task.spec.vocab, task.spec.labels
    assert split.x.shape[1] == seq_len + 20
    for row, target, delimiter in zip(split.x, split.y, split.positions["delimiter"], strict=True):
        given = "".join(vocab[i] + " " for i in row)
        wanted = "".join(labels[i] + " " for i in target)
        symbols = given.split()[:10]
        assert all(s in {f"a{k}" for k in range(1, 9)} for s in symbols)
        assert given.split()[10:] == ["_"] * (seq_len - 1) + [":"] + ["_"] * 10
        assert wanted.split() == ["_"] * (seq_len + 10) + symbols
        assert vocab[row[delimiter]] == ":" and delimiter == seq_len + 9


@pytest.mark.parametrize(("variant", "seq_len", "jitter"), [("2bit", 10, 0), ("3bit", 40, 10)])
def test_temporal_order_class_reads_the_keys_in_order(variant, seq_len, jitter):
    task = tiny("temporal_order", seq_len=seq_len, variant=variant, length_jitter=jitter)
    split = task.splits()["train"]
    windows = key_windows(seq_len, variant)
    for row, y, keys, end in zip(split.x, split.y, *split.positions.values(), strict=True):
        w = words(task, row)
        assert w[0] == "B" and w[-1] == "E" and seq_len <= len(w) <= seq_len + jitter
        assert set(w[1:-1]) <= set("abcdXY") and end == len(w) - 1
        at = [t for t, s in enumerate(w) if s in "XY"]
        assert len(at) == len(windows) and list(keys) == at
        assert all(lo <= t <= hi for t, (lo, hi) in zip(at, windows, strict=True))
        assert task.spec.labels[y] == "".join(w[t] for t in at)


@pytest.mark.parametrize("variant", ["2bit", "3bit"])
def test_temporal_order_windows_stay_ordered_inside_the_sequence(variant):
    for seq_len in range(10, 400):
        windows = key_windows(seq_len, variant)
        assert windows[0][0] >= 1 and windows[-1][1] <= seq_len - 2
        assert all(lo <= hi for lo, hi in windows)
        assert all(a[1] < b[0] for a, b in itertools.pairwise(windows))


@pytest.mark.parametrize("variant", ["rows", "pixels", "permuted"])
def test_digits_are_the_sklearn_images(variant):
    from sklearn.datasets import load_digits

    digits = load_digits()
    task = tiny("digits", variant=variant)
    splits, indices = task.splits(), task.indices()
    permutation = pixel_permutation()
    assert sorted(permutation) == list(range(64)) and np.any(permutation != np.arange(64))
    order = np.argsort(permutation)
    for name, split in splits.items():
        images = digits.images[indices[name]] / 16
        if variant == "rows":
            seen = split.x
        elif variant == "pixels":
            seen = split.x[..., 0].reshape(-1, 8, 8)
        else:
            seen = split.x[:, order, 0].reshape(-1, 8, 8)
            permuted = images.reshape(-1, 64)[:, permutation]
            np.testing.assert_allclose(split.x[:, :, 0], permuted, rtol=1e-6)
        np.testing.assert_allclose(seen, images, rtol=1e-6)
        np.testing.assert_array_equal(split.y, digits.target[indices[name]])
        share = np.bincount(split.y, minlength=10) / len(split)
        assert np.abs(share - np.bincount(digits.target) / 1797).max() < 0.01
    assert task.spec.seq_len == (8 if variant == "rows" else 64)
    assert {name: len(s) for name, s in splits.items()} == {"train": 1257, "val": 270, "test": 270}


def test_text_windows_are_consecutive_characters_of_their_files():
    task = tiny("text", seq_len=24)
    for name, split in task.splits().items():
        np.testing.assert_array_equal(split.x[:, 1:], split.y[:, :-1])
        source = text_module.read_corpus(name)
        for x, y in zip(split.x, split.y, strict=True):
            window = "".join(task.spec.vocab[i] for i in np.append(x, y[-1]))
            assert "<unk>" in window or window in source


def test_text_vocabulary_encodes_ascii_and_maps_the_rest_to_unk():
    text = "def f(x):\n\treturn 'é' ~ x"
    ids = text_module.encode(text)
    vocab = text_module.VOCAB
    assert [vocab[i] for i in ids] == [c if c not in "\té" else "<unk>" for c in text]
    assert text_module.decode(ids) == text.replace("\t", "<unk>").replace("é", "<unk>")


# --- baselines ----------------------------------------------------------------------------------


def test_adding_baseline_is_one_sixth():
    task = AddingTask(seq_len=20, n_train=10, n_val=10, n_test=20000)
    baselines = task.baselines()
    assert baselines["mse_analytic"] == pytest.approx(1 / 6)
    assert baselines["mse"] == pytest.approx(1 / 6, abs=0.006)  # about 4 standard errors
    assert baselines["solved_frac"] == pytest.approx(0.0784, abs=0.008)
    test = task.splits()["test"]
    assert task.metrics(test.y, test) == {"mse": 0.0, "solved_frac": 1.0}
    assert task.metrics(test.y + 0.05, test)["solved_frac"] == 0.0


@pytest.mark.parametrize(("seq_len", "published"), [(50, 0.297), (100, 0.173)])
def test_copy_baseline_is_ten_ln8_over_t_plus_20(seq_len, published):
    task = CopyTask(seq_len=seq_len, n_train=4000, n_val=10, n_test=1000)
    baselines = task.baselines()
    assert baselines["ce_analytic"] == pytest.approx(10 * math.log(8) / (seq_len + 20))
    assert baselines["ce_analytic"] == pytest.approx(published, abs=5e-4)
    assert baselines["ce"] == pytest.approx(baselines["ce_analytic"], rel=0.01)
    assert baselines["accuracy_last10"] == 1 / 8
    test = task.splits()["test"]
    memoryless = np.full((len(test), seq_len + 20, 9), -1e9)
    memoryless[:, :-10, 0] = 0.0
    memoryless[:, -10:, 1:] = 0.0
    assert task.metrics(memoryless, test)["ce"] == pytest.approx(baselines["ce_analytic"])
    perfect = np.eye(9)[test.y] * 50.0
    assert task.metrics(perfect, test) == pytest.approx({"ce": 0.0, "accuracy_last10": 1.0})


def test_context_switch_baselines():
    task = tiny("context_switch", seq_len=20, n_test=400)
    test = task.splits()["test"]
    keep_share = 1 - test.positions["is_switch"].mean()
    baselines = task.baselines()
    assert baselines["accuracy_chance"] == 1 / 8
    assert baselines["accuracy_copy_last"] == pytest.approx(keep_share)
    assert baselines["accuracy_first_subject"] == pytest.approx(keep_share)
    assert baselines["accuracy"] == pytest.approx(0.5, abs=0.01)
    assert baselines["accuracy_last_name"] < 0.1  # 30% distractors over 20 words
    neutral = tiny("context_switch", seq_len=20, distractor_frac=0.0, n_test=400)
    assert neutral.baselines()["accuracy_last_name"] == 1.0
    # "The last name seen" is a shortcut that needs no memory only without distractors; the
    # no-memory baseline stays 0.5 whatever the distractors (half the sentences switch).
    for frac in (0.0, 0.3, 1.0):
        other = tiny("context_switch", seq_len=20, distractor_frac=frac, n_test=400)
        assert other.baselines()["accuracy"] == 0.5, frac
    logits = np.eye(8)[test.y] - np.eye(8)[test.y] * test.positions["is_switch"][:, None]
    metrics = task.metrics(logits, test)
    assert metrics["accuracy_keep"] == 1.0 and metrics["accuracy_switch"] < 0.25
    keep = 1 - test.positions["is_switch"]
    expected_ce = np.mean(np.where(keep == 1, np.log(np.e + 7) - 1, np.log(8)))
    assert metrics["ce"] == pytest.approx(expected_ce)


@pytest.mark.parametrize(("variant", "n_classes"), [("2bit", 4), ("3bit", 8)])
def test_temporal_order_baselines(variant, n_classes):
    """Chance is 1/classes; the generated classes are uniform, so the no-memory baseline (the
    best constant answer) stays within sampling noise of chance on the test split."""
    task = tiny("temporal_order", variant=variant, n_train=2000, n_test=2000)
    baselines = task.baselines()
    assert baselines["accuracy_chance"] == 1 / n_classes
    test = task.splits()["test"]
    share = np.bincount(test.y, minlength=n_classes) / len(test)
    noise = 4 * math.sqrt((1 / n_classes) * (1 - 1 / n_classes) / len(test))  # 4 std errors
    assert np.all(np.abs(share - 1 / n_classes) < noise), share
    assert 1 / n_classes <= baselines["accuracy"] <= share.max()  # no constant answer does better
    assert baselines["accuracy"] < 1 / n_classes + noise


def test_digits_baselines():
    baselines = tiny("digits").baselines()
    assert baselines["accuracy_chance"] == 0.1
    assert baselines["accuracy"] == pytest.approx(0.1, abs=0.01)
    assert baselines["accuracy_svc"] > 0.95


def test_text_baselines_are_unigram_entropies():
    task = tiny("text", seq_len=50, max_train_chars=200_000)
    train_text = text_module.read_corpus("train")[:200_000]
    counts = Counter(c if c in text_module.CHAR_ID else "<unk>" for c in train_text)
    entropy = -sum(n / 200_000 * math.log2(n / 200_000) for n in counts.values())
    baselines = task.baselines()
    assert baselines["bpc_train_entropy"] == pytest.approx(entropy)
    assert 4.0 < baselines["bpc"] < 5.5
    test = task.splits()["test"]
    unigram = np.log(np.bincount(task.corpus()["train"], minlength=98) + 0.5)
    logits = np.broadcast_to(unigram, (*test.y.shape, 98))
    assert task.metrics(logits, test)["bpc"] == pytest.approx(baselines["bpc"])


# --- disjoint splits and stable vocabularies ----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "overrides"),
    [
        ("context_switch", {"seq_len": 2, "n_train": 2000, "n_val": 500, "n_test": 500}),
        ("copy", {"seq_len": 5}),
        ("temporal_order", {"seq_len": 10}),
        ("adding", {"seq_len": 4}),
    ],
)
def test_generated_splits_share_no_example(name, overrides):
    splits = from_config(name, **{**TINY, **overrides}).splits()
    seen = {k: {tuple(np.ravel(row)) for row in s.x} for k, s in splits.items()}
    assert not seen["train"] & seen["val"] and not seen["train"] & seen["test"]
    assert not seen["val"] & seen["test"]
    assert len(splits["val"]) == overrides.get("n_val", TINY["n_val"])


def test_context_switch_space_is_large_enough_for_disjoint_splits():
    # 128 * 27**2 distinct sentences: 2,000 training sentences make val collide often enough
    # that the rejection loop is exercised; the splits still share no sentence.
    task = from_config("context_switch", seq_len=2, n_train=2000, n_val=2000, n_test=10)
    splits = task.splits()
    assert [len(splits[name]) for name in ("train", "val", "test")] == [2000, 2000, 10]
    rows = {name: {tuple(row) for row in split.x} for name, split in splits.items()}
    assert not rows["train"] & rows["val"] and not rows["train"] & rows["test"]
    assert not rows["val"] & rows["test"]
    fresh = {tuple(row) for row in task._generate(np.random.default_rng(1), 2000).x}
    assert len(fresh & rows["train"]) > 10  # drawn without the rejection, val would repeat


def test_text_and_digits_splits_share_no_file_or_image():
    files = text_module.FILES
    names = [f for split in files.values() for f in split]
    assert len(names) == len(set(names))
    assert all((text_module.stdlib_root() / f).is_file() for f in names)
    indices = tiny("digits").indices()
    together = np.concatenate(list(indices.values()))
    assert len(together) == len(set(together)) == 1797


def test_vocabularies_are_stable():
    assert tiny("context_switch", seq_len=3).spec.vocab == cs.VOCAB == (
        "<pad>", "___", "likes", "really", "but", "and", "also",
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "henry",
        "pizza", "sushi", "pasta", "tacos", "curry", "salad", "soup", "cake",
        "the", "a", "very", "long", "day", "at", "school", "with", "friends", "after",
        "work", "in", "town", "on", "sunday", "who", "met", "then", "said", "today",
    )  # fmt: skip
    assert tiny("copy", seq_len=3).spec.vocab == (
        "<pad>", "_", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", ":",
    )  # fmt: skip
    assert tiny("temporal_order").spec.vocab == ("<pad>", "a", "b", "c", "d", "X", "Y", "B", "E")
    text_vocab = tiny("text", seq_len=3).spec.vocab
    assert text_vocab[:3] == ("<pad>", "<unk>", "\n") and len(text_vocab) == 98
    assert "".join(text_vocab[3:]) == "".join(chr(c) for c in range(32, 127))
    for name in ("context_switch", "copy", "temporal_order", "text"):
        assert tiny(name, seed=5).spec.vocab == tiny(name, seed=6).spec.vocab


# --- bad arguments ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (AddingTask, {"seq_len": 1}, "`seq_len`, expected an integer >= 2, got 1."),
        (AddingTask, {"seq_len": 10.5}, "`seq_len`, expected an integer >= 2, got 10.5."),
        (AddingTask, {"seq_len": True}, "`seq_len`, expected an integer >= 2, got True."),
        (AddingTask, {"n_train": 0}, "`n_train`, expected an integer >= 1, got 0."),
        (AddingTask, {"n_val": -1}, "`n_val`, expected an integer >= 1, got -1."),
        (AddingTask, {"n_test": 0}, "`n_test`, expected an integer >= 1, got 0."),
        (AddingTask, {"seed": -1}, "`seed`, expected an integer >= 0, got -1."),
        (CopyTask, {"seq_len": 0}, "`seq_len`, expected an integer >= 1, got 0."),
        (CopyTask, {"n_train": 0}, "`n_train`, expected an integer >= 1, got 0."),
        (TemporalOrderTask, {"seq_len": 9}, "`seq_len`, expected an integer >= 10, got 9."),
        (TemporalOrderTask, {"variant": "4bit"}, "`variant`, expected one of ['2bit', '3bit']"),
        (TemporalOrderTask, {"length_jitter": -1}, "`length_jitter`, expected an integer >= 0"),
        (ContextSwitchTask, {"seq_len": 0}, "`seq_len`, expected an integer >= 2, got 0."),
        (ContextSwitchTask, {"seq_len": 1}, "`seq_len`, expected an integer >= 2, got 1."),
        (
            ContextSwitchTask,
            {"seq_len": 3, "n_train": 1_000_000},
            "`seq_len`, expected an integer >= 4, got 3.",
        ),
        (
            ContextSwitchTask,
            {"distractor_frac": 1.5},
            "`distractor_frac`, expected a number in [0.0, 1.0], got 1.5.",
        ),
        (ContextSwitchTask, {"n_val": 0}, "`n_val`, expected an integer >= 1, got 0."),
        (
            DigitsTask,
            {"variant": "columns"},
            "`variant`, expected one of ['rows', 'pixels', 'permuted'], got 'columns'.",
        ),
        (DigitsTask, {"val_frac": 0.5}, "`val_frac`, expected a number in (0, 0.5), got 0.5."),
        (DigitsTask, {"test_frac": 0}, "`test_frac`, expected a number in (0, 0.5), got 0."),
        (TextTask, {"seq_len": 0}, "`seq_len`, expected an integer in [1, 10000], got 0."),
        (TextTask, {"seq_len": 10_001}, "`seq_len`, expected an integer in [1, 10000]"),
        (
            TextTask,
            {"seq_len": 100, "max_train_chars": 50},
            "`max_train_chars`, expected an integer >= 101, got 50.",
        ),
    ],
)
def test_bad_arguments_raise_before_generating(cls, kwargs, message):
    with pytest.raises(ValueError, match="Received an invalid value for argument") as error:
        cls(**kwargs)
    assert message in str(error.value)


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_metrics_reject_outputs_of_the_wrong_shape(name):
    task = tiny(name)
    split = task.splits()["val"]
    wrong = random_outputs(task, split, np.random.default_rng(0))[..., :-1]
    with pytest.raises(ValueError, match="argument `y_pred`, expected an array of shape"):
        task.metrics(wrong, split)

"""Example files of your own data, made offline: `python -m data.examples DIR [--long-rows N]
[--text-mb M]`.

- `docs.txt`: the Python documentation that ships with the standard library
  (`pydoc_data.topics`), repeated up to `--text-mb` megabytes when asked;
- `reviews.csv`, `reviews.parquet`, `reviews.jsonl`: short restaurant reviews (`text`) and their
  verdict (`label`, pos/neg): the last clause's sentiment, turned round by a denying opener
  ("nobody says ...") in the first clause; after "but" the first clause no longer counts, so the
  model must keep or drop what it read (the gates' job) and hold it through a tail of noise;
- `sensors.csv`: long-format numeric sequences, one row per (`id`, `time`), features `temp` and
  `vibration`, a `split` column, a class label `state` (`fault` when a vibration spike occurs in
  the first half of the sequence) and a value label `load` (the sequence's mean temperature).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

GOOD = ("good", "great", "tasty", "lovely")
BAD = ("bad", "cold", "bland", "awful")
THINGS = ("the food", "the service", "the soup", "the staff", "the wine", "the room")
SAYS = ("i think", "everyone says", "i would say")
DENIES = ("i do not think", "nobody says", "i would never say")
TAIL = ("when", "we", "went", "there", "on", "a", "rainy", "tuesday", "with", "friends", "again")


def reviews(n: int, seed: int = 0) -> pd.DataFrame:
    """`n` reviews: columns `text` (str) and `label` (`"pos"` / `"neg"`).

    "<opener> <thing> was <word>[, but <thing> was <word>], <0-40 tail words>": the verdict is
    the last clause's word, turned round by a denying opener ("nobody says") in the first
    clause; the tail after it is noise to remember across.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        denied, good = rng.random() < 0.5, rng.random() < 0.5
        opener = rng.choice(DENIES if denied else SAYS)
        text = f"{opener} {rng.choice(THINGS)} was {rng.choice(GOOD if good else BAD)}"
        positive = good != denied
        if rng.random() < 0.5:
            positive = rng.random() < 0.5
            text += f", but {rng.choice(THINGS)} was {rng.choice(GOOD if positive else BAD)}"
        tail = " ".join(rng.choice(TAIL, size=rng.integers(0, 41)))
        text = f"{text}, {tail}" if tail else text
        rows.append({"text": text.capitalize() + ".", "label": "pos" if positive else "neg"})
    return pd.DataFrame(rows)


def sensors(n_rows: int, seed: int = 0, length: tuple[int, int] = (20, 60)) -> pd.DataFrame:
    """`n_rows` rows (at least 3 sequences) of long-format sequences of `length` steps (uniform
    in the range; the last sequence may be shorter)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(length[0], length[1] + 1, size=n_rows // length[0] + 3)
    cut = int(np.searchsorted(np.cumsum(lengths), n_rows)) + 1  # sequences that reach n_rows
    lengths = lengths[: max(cut, 3)]
    lengths[-1] -= max(0, int(lengths.sum()) - max(n_rows, 3 * length[1]))  # exactly n_rows
    ids = np.repeat(np.arange(len(lengths)), lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    time = np.arange(len(ids)) - starts[ids]
    temp = 20 + 5 * rng.standard_normal(len(ids))
    vibration = rng.random(len(ids))
    spike_at = rng.integers(0, lengths)  # (sequences,)
    fault = spike_at < lengths // 2
    has_spike = rng.random(len(lengths)) < 0.5
    spiking = has_spike[ids] & (time == spike_at[ids])
    vibration[spiking] += 5.0
    state = np.where(has_spike & fault, "fault", "ok")
    load = pd.Series(temp).groupby(ids).transform("mean").to_numpy()
    split = np.array(["train", "train", "train", "train", "train", "train", "train", "val", "test"])
    return pd.DataFrame(
        {
            "id": [f"m{i:05d}" for i in ids],
            "time": time,
            "temp": temp.round(3),
            "vibration": vibration.round(4),
            "state": state[ids],
            "load": load.round(3),
            "split": split[np.arange(len(lengths)) % len(split)][ids],
        }
    ).sample(frac=1.0, random_state=seed)  # rows in no particular order: `time` orders them


def docs_text(megabytes: float | None = None) -> str:
    """The standard library's documentation topics, repeated to `megabytes` MB if given."""
    from pydoc_data.topics import topics

    text = "\n".join(topics[key] for key in sorted(topics))
    if megabytes is None:
        return text
    size = int(megabytes * 1_000_000)
    return (text * (size // len(text) + 1))[:size]


def write_examples(
    folder: Path, n_reviews: int = 2000, long_rows: int = 20_000, text_mb: float | None = None
) -> dict[str, Path]:
    """Write every example file into `folder`; returns name → path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / name for name in ("docs.txt", "reviews.csv", "reviews.parquet")}
    paths |= {name: folder / name for name in ("reviews.jsonl", "sensors.csv")}
    paths["docs.txt"].write_text(docs_text(text_mb), encoding="utf-8")
    table = reviews(n_reviews)
    table.to_csv(paths["reviews.csv"], index=False)
    table.to_parquet(paths["reviews.parquet"], index=False)
    table.to_json(paths["reviews.jsonl"], orient="records", lines=True, force_ascii=False)
    sensors(long_rows).to_csv(paths["sensors.csv"], index=False)
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--reviews", type=int, default=2000, help="rows of the review tables")
    parser.add_argument("--long-rows", type=int, default=20_000, help="rows of sensors.csv")
    parser.add_argument("--text-mb", type=float, help="size of docs.txt (default: one copy)")
    args = parser.parse_args(argv)
    for name, path in write_examples(
        args.folder, args.reviews, args.long_rows, args.text_mb
    ).items():
        print(f"{name:<16} {path.stat().st_size:>12,} bytes  {path}", file=sys.stdout)


if __name__ == "__main__":
    main()

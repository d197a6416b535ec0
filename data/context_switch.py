"""Context switch ("I like pizza but my friend likes ___"), the tutorial's motivating example."""

from __future__ import annotations

import math

import numpy as np

from data.base import Split, Task, TaskSpec
from data.common import (
    check_float,
    check_int,
    check_predictions,
    check_seed,
    check_sizes,
    cross_entropy,
    disjoint_splits,
    majority_accuracy,
    rng_for,
)

NAMES = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "henry")
FOODS = ("pizza", "sushi", "pasta", "tacos", "curry", "salad", "soup", "cake")
FILLER = (
    "the", "a", "very", "long", "day", "at", "school", "with", "friends", "after",
    "work", "in", "town", "on", "sunday", "who", "met", "then", "said", "today",
)  # fmt: skip
WORDS = ("___", "likes", "really", "but", "and", "also")
VOCAB = ("<pad>", *WORDS, *NAMES, *FOODS, *FILLER)
ID = {word: i for i, word in enumerate(VOCAB)}
NAME_IDS = np.array([ID[w] for w in NAMES])
FOOD_IDS = np.array([ID[w] for w in FOODS])
FILLER_IDS = np.array([ID[w] for w in FILLER])
# Distinct input sentences must outnumber the examples by this factor, so that val and test can
# be drawn without repeating a training sentence in a round or two.
SPACE_FACTOR = 10


class ContextSwitchTask(Task):
    """Answer whose favourite food the blank asks for, after a possible change of subject.

    Each of 8 names has a fixed favourite among 8 foods (a permutation drawn from `seed`,
    `self.favourite`). A sentence either switches subject or keeps it:

        switch: A [really] likes fav(A) but B  <filler x seq_len>      likes ___   -> fav(B)
        keep:   A [really] likes fav(A) and    <filler x seq_len> also likes ___   -> fav(A)

    Filler words are neutral words, or with probability `distractor_frac` a name other than
    the deciding subject (A for keep, B for switch), so that "the last name seen" is no answer.
    The first clause's food is always fav(A): copying the last food seen is right on keep
    sentences and wrong on switch sentences. "really" (half the sentences) varies the length;
    sentences are right-padded with 0 to `seq_len + 8` so that the blank is the last real step.
    Half of each split switches.

    Args:
        seq_len: filler words between the deciding subject and the blank (>= 1, and large
            enough for the requested number of distinct sentences).
        distractor_frac: probability that a filler word is a distractor name, in [0, 1].
        n_train, n_val, n_test: number of sentences per split (>= 1).
        seed: seeds the favourite table and every split (non-negative integer).

    Splits: x `(n, seq_len + 8)` int32, y `(n,)` int32 food ids (`spec.labels`), positions
    `"switch"` (the but/and step), `"subject"` (the deciding name), `"blank"`, `"is_switch"`
    (1 for switch sentences), each `(n,)`.
    """

    gate_steps = ("at_but", "at_and", "at_new_subject", "elsewhere")

    def __init__(
        self,
        seq_len: int = 20,
        distractor_frac: float = 0.3,
        n_train: int = 4000,
        n_val: int = 500,
        n_test: int = 1000,
        seed: int = 0,
    ) -> None:
        self.distractor_frac = check_float("distractor_frac", distractor_frac, 0.0, 1.0)
        self.sizes = check_sizes(n_train, n_val, n_test)
        self.seq_len = check_int("seq_len", seq_len, self._min_seq_len())
        self.seed = check_seed(seed)
        super().__init__()
        self.favourite = rng_for(self.seed, "table").permutation(len(NAMES))  # name -> food
        self.spec = TaskSpec(
            name="context_switch",
            seq_len=self.seq_len,
            input_kind="tokens",
            input_dim=len(VOCAB),
            output="last",
            n_outputs=len(FOODS),
            primary_metric="accuracy",
            higher_is_better=True,
            vocab=VOCAB,
            labels=FOODS,
        )

    def _min_seq_len(self) -> int:
        """Shortest filler for which distinct sentences outnumber the examples `SPACE_FACTOR`-fold.

        The effective number of choices per filler word is exp(entropy of its distribution);
        the rest of a sentence gives 8 subjects x 8 (switch to one of 7, or keep) x 2 forms.
        """
        p = self.distractor_frac
        probs = [(1 - p) / len(FILLER)] * len(FILLER) + [p / (len(NAMES) - 1)] * (len(NAMES) - 1)
        entropy = -sum(q * math.log(q) for q in probs if q > 0)
        needed = SPACE_FACTOR * sum(self.sizes.values()) / (len(NAMES) * len(NAMES) * 2)
        if needed <= 1:
            return 1
        return max(1, math.ceil(math.log(needed) / entropy))

    def _filler(self, rng: np.random.Generator, subject: np.ndarray) -> np.ndarray:
        """`(n, seq_len)` filler ids; distractor names are never the deciding `subject` `(n,)`."""
        n = len(subject)
        words = FILLER_IDS[rng.integers(0, len(FILLER), size=(n, self.seq_len))]
        offset = rng.integers(1, len(NAMES), size=(n, self.seq_len))
        other = (subject[:, None] + offset) % len(NAMES)
        is_name = rng.random((n, self.seq_len)) < self.distractor_frac
        return np.where(is_name, NAME_IDS[other], words)

    def _generate(self, rng: np.random.Generator, n: int) -> Split:
        """`n` fresh sentences drawn from `rng`."""
        first = rng.integers(0, len(NAMES), size=n)
        second = (first + rng.integers(1, len(NAMES), size=n)) % len(NAMES)
        is_switch = rng.permutation(n) < (n + 1) // 2
        really = rng.random(n) < 0.5
        subject = np.where(is_switch, second, first)
        filler = self._filler(rng, subject)
        # Every sentence laid out with the "really" slot (column 1); the middle block is
        # "B filler" for switch and "filler also" for keep, both seq_len + 1 words.
        middle = np.where(
            is_switch[:, None],
            np.concatenate([NAME_IDS[second][:, None], filler], axis=1),
            np.concatenate([filler, np.full((n, 1), ID["also"])], axis=1),
        )
        head = np.stack(
            [
                NAME_IDS[first],
                np.full(n, ID["really"]),
                np.full(n, ID["likes"]),
                FOOD_IDS[self.favourite[first]],
                np.where(is_switch, ID["but"], ID["and"]),
            ],
            axis=1,
        )
        tail = np.tile([ID["likes"], ID["___"]], (n, 1))
        full = np.concatenate([head, middle, tail], axis=1)  # (n, seq_len + 8)
        without = np.concatenate([full[:, :1], full[:, 2:], np.zeros((n, 1), int)], axis=1)
        x = np.where(really[:, None], full, without).astype(np.int32)
        shift = really.astype(np.int64)
        positions = {
            "switch": 3 + shift,
            "subject": np.where(is_switch, 4 + shift, 0),
            "blank": self.seq_len + 6 + shift,
            "is_switch": is_switch.astype(np.int64),
        }
        return Split(x, self.favourite[subject].astype(np.int32), positions)

    def _make_splits(self) -> dict[str, Split]:
        return disjoint_splits(self._generate, self.seed, self.sizes)

    def metrics(self, y_pred: np.ndarray, split: Split) -> dict[str, float]:
        """`accuracy` (also on switch and keep sentences apart) and `ce` of `(n, 8)` logits.

        A group absent from `split` gets NaN.
        """
        logits = check_predictions(y_pred, (len(split), len(FOODS)))
        correct = logits.argmax(axis=-1) == split.y
        switch = split.positions["is_switch"] == 1
        return {
            "accuracy": float(correct.mean()),
            "accuracy_switch": float(correct[switch].mean()) if switch.any() else math.nan,
            "accuracy_keep": float(correct[~switch].mean()) if (~switch).any() else math.nan,
            "ce": float(cross_entropy(logits, split.y).mean()),
        }

    def baselines(self) -> dict[str, float]:
        """Baselines on the test split.

        No memory at all: `accuracy_chance` (1/8) and `accuracy_majority` (the training split's
        most common answer); `accuracy_no_memory` is the better of the two. One token carried
        across the filler: `accuracy_copy_last` (the last food seen, i.e. fav(A): right on every
        keep sentence, so 0.5) and `accuracy_first_subject` (the first name's favourite, the same
        answers). `accuracy`, the task's primary baseline, is the best of these four, so 0.5:
        it needs no subject but does need a memory of one food. `accuracy_last_name` (the
        favourite of the last name seen) is a shortcut: it solves the task when
        `distractor_frac` is 0.
        """
        splits = self.splits()
        test = splits["test"]
        is_name, is_food = np.isin(test.x, NAME_IDS), np.isin(test.x, FOOD_IDS)
        first_name = self._name_index(test.x[:, 0])
        no_memory = {
            "accuracy_chance": 1 / len(FOODS),
            "accuracy_majority": majority_accuracy(splits["train"].y, test.y),
        }
        one_token = {
            "accuracy_copy_last": self._accuracy_of_last(test, is_food, FOOD_IDS, np.arange(8)),
            "accuracy_first_subject": float(np.mean(self.favourite[first_name] == test.y)),
        }
        last_name = self._accuracy_of_last(test, is_name, NAME_IDS, self.favourite)
        return {
            "accuracy": max(*no_memory.values(), *one_token.values()),
            "accuracy_no_memory": max(no_memory.values()),
            **no_memory,
            **one_token,
            "accuracy_last_name": last_name,
        }

    def tutorial(self) -> dict:
        """The tutorial's sentence in this task's words: "alice likes fav(alice) but bob
        <filler x seq_len> likes ___" (-> fav(bob)), neutral filler words in a fixed order, and
        its keep twin with "and ... also"; the favourite table and the filler length."""
        first, second = NAMES[0], NAMES[1]
        food = FOODS[self.favourite[0]]
        filler = " ".join(FILLER[i % len(FILLER)] for i in range(self.seq_len))
        return {
            "text": f"{first} likes {food} but {second} {filler} likes ___",
            "contrast": f"{first} likes {food} and {filler} also likes ___",
            "hint": (
                f'Next: replace "but {second}" with "and" and put "also" before "likes": the '
                f'forget gate stays open at "and" and the answer becomes {first}\'s food; '
                "or try other names from the table."
            ),
            "facts": {
                "favourite": {name: FOODS[self.favourite[i]] for i, name in enumerate(NAMES)},
                "filler": self.seq_len,
            },
        }

    def gate_means(self, values: np.ndarray, mask: np.ndarray, split: Split) -> dict[str, float]:
        """Mean of one gate over units and sentences at the words the tutorial talks about.

        Args:
            values: `(n, time, units)` gate values of the first n sentences of `split`.
            mask: `(n, time)` bool, True at real words.
            split: its positions `"switch"` (index of but/and), `"subject"` (the new subject of
                a switch sentence) and `"is_switch"`, each `(n,)` once cut to the first n.
        Returns: `{"at_but", "at_and", "at_new_subject", "elsewhere"}` → mean gate value;
            `elsewhere` is every real word but the but/and word. NaN where no sentence has
            the word.
        """
        n = len(values)
        rows = np.arange(n)
        switch, subject = split.positions["switch"][:n], split.positions["subject"][:n]
        is_switch = split.positions["is_switch"][:n].astype(bool)
        at_switch = values[rows, switch].mean(axis=-1)  # (n,)
        elsewhere = mask.copy()
        elsewhere[rows, switch] = False

        def mean(selected: np.ndarray) -> float:
            return float(selected.mean()) if selected.size else float("nan")

        return {
            "at_but": mean(at_switch[is_switch]),
            "at_and": mean(at_switch[~is_switch]),
            "at_new_subject": mean(values[rows[is_switch], subject[is_switch]]),
            "elsewhere": mean(values[elsewhere]),
        }

    @staticmethod
    def _name_index(ids: np.ndarray) -> np.ndarray:
        """Name index 0..7 of name token ids."""
        return np.searchsorted(NAME_IDS, ids)

    @staticmethod
    def _accuracy_of_last(
        split: Split, hits: np.ndarray, ids: np.ndarray, answer: np.ndarray
    ) -> float:
        """Accuracy of answering `answer[k]` where `ids[k]` is the last token flagged in `hits`.

        `hits` is `(n, time)` bool; every sentence has at least one flagged token.
        """
        width = hits.shape[1]
        last = width - 1 - np.argmax(hits[:, ::-1], axis=1)
        token = split.x[np.arange(len(split)), last]
        return float(np.mean(answer[np.searchsorted(ids, token)] == split.y))

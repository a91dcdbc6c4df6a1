"""Item quality of a pack: can a quiz be passed without knowing the answer, do two quizzes ask the same thing,
can a task's work be reviewed, is a resource past the date to check it again.

Pure and cheap enough for a pack of 5,000 entries: the near-duplicate search only compares quizzes that share
a word no more than `_COMMON` quizzes use.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations

from bot.catalog.model import LETTERS, Catalog, Challenge

# The thresholds a pack must meet (README "Content", and `studybot content check`).
LONGEST_SHARE_MAX = 0.35  # what always picking the longest option scores; chance is 0.25
KEY_RATIO_MAX = 1.3  # a key longer than this times its longest distractor gives itself away ...
KEY_SLACK = 5  # ... when it is also this many characters longer ("0.25" against "0.5" is no tell)
NEAR_DUPLICATE = 0.35  # the share of content words two quizzes' questions and keys have in common
# Sweeping words a test-wise learner rules options out by: a key without one among distractors that all
# have one is picked blind.
ABSOLUTES = frozenset(
    "all always completely entirely every everything exactly guaranteed impossible never none nothing "
    "only".split()
)

_WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")
_STOP = frozenset(
    "a about after all also an and any are as at be because been before being but by can could did do does "
    "each every for from had has have how if in into is it its just more most much no not of on one only or "
    "other over same should so some such than that the their them then there these they this those through "
    "to two under up use used uses using very was way we were what when where which while who why will with "
    "would you your".split()
)
_COMMON = 20  # a word in more quizzes than this cannot tell two of them apart; it is not indexed


@dataclass(frozen=True)
class Quality:
    """The figures of one pack; `failures` are what `content check` refuses, `warnings` what it reports."""

    quizzes: int
    tasks: int
    longest_share: float  # the score of always picking the longest option (ties split evenly)
    key_longest: int  # quizzes whose key is strictly the longest option
    long_keys: list[tuple[str, int, int]] = field(default_factory=list)  # (id, key, longest distractor)
    # Quizzes whose key alone is hedged: every distractor says always, never, only... and the key does not.
    hedged_keys: list[str] = field(default_factory=list)
    half_hedged: int = 0  # quizzes where two of the three distractors do
    near_duplicates: list[tuple[str, str, float]] = field(default_factory=list)
    no_checklist: list[str] = field(default_factory=list)  # tasks a reviewer could not check
    review_due: list[tuple[str, dt.date]] = field(default_factory=list)  # resources past `review_by`
    expected: int = 0  # tasks that state an expected result

    def failures(self) -> list[str]:
        out = []
        if self.quizzes and self.longest_share > LONGEST_SHARE_MAX:
            out.append(
                f"always picking the longest option scores {self.longest_share:.0%} "
                f"(at most {LONGEST_SHARE_MAX:.0%}; chance is 25%)"
            )
        out += [
            f"{cid}: the key is {key} characters, its longest distractor {other}: "
            f"more than {KEY_RATIO_MAX}x gives it away; make the options alike in length and form"
            for cid, key, other in self.long_keys
        ]
        out += [
            f"{cid}: every distractor makes a sweeping claim (always, never, only...) and the key does not, "
            "so it can be picked blind; hedge a distractor or firm up the key"
            for cid in self.hedged_keys
        ]
        out += [
            f"{a} and {b} ask nearly the same ({share:.0%} of their words shared); keep the better one"
            for a, b, share in self.near_duplicates
        ]
        out += [
            f"{cid}: a task needs a `checklist` of what a reviewer looks for" for cid in self.no_checklist
        ]
        return out

    def warnings(self) -> list[str]:
        return [
            f"{rid}: `review_by` {day:%Y-%m-%d} has passed; check the page and set a new date"
            for rid, day in self.review_due
        ]

    def figures(self) -> list[str]:
        share = f"{self.key_longest / self.quizzes:.0%}" if self.quizzes else "-"
        return [
            f"quizzes {self.quizzes}, tasks {self.tasks}",
            f"always picking the longest option scores {self.longest_share:.1%} "
            f"(at most {LONGEST_SHARE_MAX:.0%})",
            f"key strictly the longest option: {share} of quizzes (chance 25%)",
            f"keys over {KEY_RATIO_MAX}x their longest distractor: {len(self.long_keys)}",
            f"keys the only option without a sweeping word (always, never, only...): "
            f"{len(self.hedged_keys)} against all three distractors, {self.half_hedged} against two",
            f"near-duplicate question pairs: {len(self.near_duplicates)}",
            f"tasks without a reviewer checklist: {len(self.no_checklist)}",
            f"tasks with an expected result: {self.expected}",
            f"resources past their review date: {len(self.review_due)}",
        ]


def measure(catalog: Catalog, today: dt.date) -> Quality:
    """The quality figures of `catalog`, with `review_by` dates judged at `today`."""
    quizzes = [c for c in catalog.challenges.values() if c.is_quiz and len(c.options) == len(LETTERS)]
    tasks = [c for c in catalog.challenges.values() if c.type == "task"]
    score = 0.0
    key_longest = 0
    long_keys = []
    hedged_keys: list[str] = []
    half_hedged = 0
    for quiz in quizzes:
        lengths = [len(o) for o in quiz.options]
        key = lengths[LETTERS.index(quiz.answer)] if quiz.answer in LETTERS else 0
        longest = max(lengths)
        if key == longest:
            score += 1 / lengths.count(longest)
            key_longest += lengths.count(longest) == 1
        other = max(n for i, n in enumerate(lengths) if LETTERS[i] != quiz.answer)
        if key > KEY_RATIO_MAX * other and key - other >= KEY_SLACK:
            long_keys.append((quiz.id, key, other))
        sweeping = [bool(ABSOLUTES & set(_WORD.findall(o.lower()))) for o in quiz.options]
        if quiz.answer in LETTERS and not sweeping[LETTERS.index(quiz.answer)]:
            count = sum(sweeping)
            if count == len(LETTERS) - 1:
                hedged_keys.append(quiz.id)
            half_hedged += count == len(LETTERS) - 2
    quality = Quality(
        quizzes=len(quizzes),
        tasks=len(tasks),
        longest_share=score / len(quizzes) if quizzes else 0.0,
        key_longest=key_longest,
        long_keys=long_keys,
        hedged_keys=hedged_keys,
        half_hedged=half_hedged,
        near_duplicates=near_duplicates(quizzes),
        no_checklist=[t.id for t in tasks if not t.checklist],
        review_due=sorted(
            (r.id, r.review_by) for r in catalog.resources.values() if r.review_by and r.review_by < today
        ),
        expected=sum(1 for t in tasks if t.expected),
    )
    return quality


def words(text: str) -> frozenset[str]:
    """The content words of `text`: lowercase, without the common English ones and one- or two-letter ones."""
    return frozenset(w for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in _STOP)


def near_duplicates(quizzes: list[Challenge]) -> list[tuple[str, str, float]]:
    """Pairs of quizzes whose question and key share at least NEAR_DUPLICATE of their content words."""
    bags = [words(f"{q.question} {q.answer_text() if q.answer in LETTERS else ''}") for q in quizzes]
    postings: dict[str, list[int]] = defaultdict(list)
    for i, bag in enumerate(bags):
        for w in bag:
            postings[w].append(i)
    shared: set[tuple[int, int]] = set()
    for ids in postings.values():
        if len(ids) <= _COMMON:
            shared.update(combinations(ids, 2))
    out = []
    for i, j in sorted(shared):
        share = len(bags[i] & bags[j]) / len(bags[i] | bags[j])
        if share >= NEAR_DUPLICATE:
            out.append((quizzes[i].id, quizzes[j].id, share))
    return sorted(out, key=lambda p: -p[2])


def pack_part(catalog: Catalog, namespace: str | None) -> Catalog:
    """The challenges and resources of one pack of a merged catalog: a community pack's carry its
    directory's name as a prefix (`ourclub:q1`), the built-in pack's (namespace None) carry none."""

    def own(item_id: str) -> bool:
        return ":" not in item_id if namespace is None else item_id.startswith(f"{namespace}:")

    return Catalog(
        stages=catalog.stages,
        resources={k: v for k, v in catalog.resources.items() if own(k)},
        challenges={k: v for k, v in catalog.challenges.items() if own(k)},
    )


# The share of a cohort answering right that each rating stands for (README "Content": difficulty).
RATING_BANDS = ((1, 0.75), (2, 0.45), (3, 0.0))  # at least 75% right: easy; 45-75%: medium; below: hard
CALIBRATION_MIN = 10  # answers before a quiz's share says anything


@dataclass(frozen=True)
class Answered:
    """A quiz's record across cohorts, with the rating its share of right answers suggests."""

    challenge: Challenge
    answered: int
    correct: int

    @property
    def share(self) -> float:
        return self.correct / self.answered if self.answered else 0.0

    @property
    def suggested(self) -> int:
        return next(rating for rating, floor in RATING_BANDS if self.share >= floor)


def calibration(catalog: Catalog, tallies: dict[str, tuple[int, int]]) -> list[Answered]:
    """The quizzes of `catalog` that cohorts have answered, in roadmap order."""
    return [
        Answered(ch, *tallies[ch.id])
        for ch in catalog.ordered_challenges()
        if ch.is_quiz and tallies.get(ch.id, (0, 0))[0] > 0
    ]

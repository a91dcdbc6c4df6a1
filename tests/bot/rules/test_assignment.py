"""Reviewer assignment: the rules for one submission, and fairness over a simulated cohort of 200 members
and 8 weeks of tasks."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from bot.rules.assignment import OPEN_MAX, REVIEWERS, Candidate, choose_reviewers


def cand(member: int, *, did: bool = True, ahead: bool = False, open_: int = 0, done: int = 0) -> Candidate:
    return Candidate(member, did, ahead, open_, done)


def test_never_the_author_nor_someone_who_did_not_do_the_task_and_is_not_further_along() -> None:
    chosen = choose_reviewers(
        1, 10, [cand(10), cand(11, did=False), cand(12), cand(13, did=False, ahead=True)]
    )
    assert sorted(chosen) == [12, 13]


def test_nobody_holds_more_than_three_open_reviews_and_the_least_loaded_go_first() -> None:
    chosen = choose_reviewers(
        1, 10, [cand(11, open_=OPEN_MAX), cand(12, open_=2), cand(13, open_=1), cand(14)]
    )
    assert chosen == [14, 13]
    assert choose_reviewers(1, 10, [cand(11, done=5), cand(12, done=1), cand(13, done=3)]) == [12, 13]


def test_the_authors_last_reviewer_is_chosen_again_only_when_nobody_else_can() -> None:
    first, second = choose_reviewers(1, 10, [cand(11), cand(12), cand(13)], frozenset({11, 12}))
    assert first == 13 and second in (11, 12)  # one of the last pair only because a second is needed
    assert choose_reviewers(1, 10, [cand(11), cand(12)], frozenset({11})) == [12, 11]


def test_ties_fall_on_different_members_for_different_submissions() -> None:
    pool = [cand(m) for m in range(20, 40)]
    firsts = {choose_reviewers(s, 1, pool)[0] for s in range(50)}
    assert len(firsts) > 10
    assert choose_reviewers(7, 1, pool) == choose_reviewers(7, 1, list(reversed(pool)))  # order-free


@dataclass
class Cohort:
    """A simulated cohort: who submitted what, who reviews what, and when reviews get done."""

    rng: random.Random
    submitted: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))  # task -> members
    furthest: dict[int, int] = field(default_factory=dict)  # member -> latest task submitted
    open_: Counter[int] = field(default_factory=Counter)
    total: Counter[int] = field(default_factory=Counter)
    reviewers: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))  # submission -> ids
    author_of: dict[int, tuple[int, int]] = field(default_factory=dict)  # submission -> (author, task)
    last_of: dict[int, int] = field(default_factory=dict)  # author -> their previous submission
    previous: dict[int, frozenset[int]] = field(default_factory=dict)  # submission -> author's last reviewers
    due: list[tuple[int, int, int]] = field(default_factory=list)  # (day, reviewer, submission)
    waiting: list[int] = field(default_factory=list)  # submissions short of reviewers, oldest first
    replaced: set[int] = field(default_factory=set)
    reviewers_ever: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    timeouts: list[tuple[int, int, int]] = field(default_factory=list)
    repeats_avoidable: int = 0

    def candidates(self, task: int) -> list[Candidate]:
        members = set(self.furthest)
        return [
            Candidate(m, m in self.submitted[task], self.furthest[m] > task, self.open_[m], self.total[m])
            for m in members
        ]

    def assign(self, sid: int, day: int) -> None:
        author, task = self.author_of[sid]
        have = self.reviewers[sid]
        gone = self.reviewers_ever[sid]  # timed out on this submission: not asked again
        pool = [c for c in self.candidates(task) if c.member_id not in have and c.member_id not in gone]
        last = self.previous[sid]
        chosen = choose_reviewers(sid, author, pool, last, REVIEWERS - len(have))
        eligible_fresh = [
            c for c in pool
            if c.member_id != author and c.open_reviews < OPEN_MAX and (c.did_the_task or c.further_along)
            and c.member_id not in last
        ]  # fmt: skip
        if any(m in last for m in chosen) and len(eligible_fresh) >= REVIEWERS - len(have):
            self.repeats_avoidable += 1
        for m in chosen:
            assert m != author and self.open_[m] < OPEN_MAX
            assert m in self.submitted[task] or self.furthest[m] > task
            self.open_[m] += 1
            self.total[m] += 1
            have.append(m)
            silent = self.rng.random() < 0.1  # one review in ten is never done: timed out after 3 days
            self.due.append((day + (3 if silent else self.rng.randint(1, 4)), m, sid))
            if silent and sid not in self.replaced:  # the silent one is replaced once
                self.replaced.add(sid)
                self.timeouts.append((day + 3, m, sid))

    def submit(self, sid: int, author: int, task: int, day: int) -> None:
        self.author_of[sid] = (author, task)
        before = self.last_of.get(author)
        self.previous[sid] = frozenset(self.reviewers[before]) if before is not None else frozenset()
        self.last_of[author] = sid
        self.submitted[task].add(author)
        self.furthest[author] = max(self.furthest.get(author, -1), task)
        self.waiting.append(sid)
        self.top_up(day)

    def top_up(self, day: int) -> None:
        for sid in list(self.waiting):
            self.assign(sid, day)
            if len(self.reviewers[sid]) == REVIEWERS:
                self.waiting.remove(sid)

    def finish_reviews(self, day: int) -> None:
        for entry in [d for d in self.due if d[0] <= day]:
            self.due.remove(entry)
            self.open_[entry[1]] -= 1
        for entry in [t for t in self.timeouts if t[0] <= day]:  # a silent reviewer's slot goes to another
            self.timeouts.remove(entry)
            _, member, sid = entry
            self.reviewers[sid].remove(member)
            self.reviewers_ever[sid].add(member)
            if sid not in self.waiting:
                self.waiting.append(sid)
        self.top_up(day)


def test_fair_over_200_members_and_8_weeks() -> None:
    rng = random.Random(2026)
    cohort = Cohort(rng)
    diligence = {m: rng.uniform(0.2, 0.95) for m in range(200)}
    sid = 0
    for day in range(8 * 7):
        if day % 7 in (1, 4):  # two tasks a week
            task = day // 7 * 2 + (day % 7 == 4)
            for member, p in diligence.items():
                if rng.random() < p:
                    cohort.submit(sid, member, task, day + rng.randint(0, 2))
                    sid += 1
        cohort.finish_reviews(day)
    submissions = sid
    full = sum(len(cohort.reviewers[s]) == REVIEWERS for s in range(submissions))
    loads = [cohort.total[m] for m in cohort.furthest]
    mean = sum(loads) / len(loads)
    made = Counter(a for a, _ in cohort.author_of.values())
    per_own = sorted(cohort.total[m] / made[m] for m in made)
    print(f"reviews per own submission: median {per_own[len(per_own) // 2]:.2f}, max {per_own[-1]:.2f}")
    print(
        f"\n{submissions} submissions, {full / submissions:.1%} with {REVIEWERS} reviewers, "
        f"reviews per member: mean {mean:.1f}, max {max(loads)}, min {min(loads)}, "
        f"avoidable repeats {cohort.repeats_avoidable}"
    )
    assert full / submissions >= 0.99
    assert cohort.repeats_avoidable == 0
    assert max(loads) <= 2 * mean + 2  # nobody carries the cohort
    assert per_own[-1] <= 2 * REVIEWERS  # nobody gives more than twice the reviews their own work needs
    assert max(cohort.open_.values()) <= OPEN_MAX

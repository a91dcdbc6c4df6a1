"""Buddy pods over a simulated cohort of 500 members and 12 weeks: sizes 2 to 3, nobody twice in 4 weeks
where that is possible, near in timezone and stage, and the same pods for the same week."""

from __future__ import annotations

import random
from collections import defaultdict

from bot.rules.pods import NEAR_HOURS, POD_MAX, POD_MIN, RECENT_WEEKS, Podder, make_pods


def test_pods_are_pairs_and_one_three_and_deterministic() -> None:
    members = [Podder(i, 0.0, 0) for i in range(7)]
    pods = make_pods(members, {}, "c1:2026-11-30")
    assert sorted(len(p) for p in pods) == [2, 2, 3]
    assert sorted(m for p in pods for m in p) == list(range(7))
    assert make_pods(list(reversed(members)), {}, "c1:2026-11-30") == pods
    assert make_pods([Podder(1, 0.0, 0)], {}, "s") == []  # alone: no pod


def test_near_timezones_go_together_and_recent_podmates_are_avoided() -> None:
    members = [Podder(1, -5.0, 2), Podder(2, 9.0, 2), Podder(3, -4.0, 2), Podder(4, 8.0, 3)]
    assert sorted(make_pods(members, {}, "s")) == [(1, 3), (2, 4)]
    recent = {1: {3}, 3: {1}, 2: {4}, 4: {2}}
    assert sorted(make_pods(members, recent, "s")) == [(1, 2), (3, 4)] or sorted(
        make_pods(members, recent, "s")
    ) == [(1, 4), (2, 3)]


def test_500_members_over_12_weeks() -> None:
    rng = random.Random(17)
    members = [Podder(i, float(rng.randint(-8, 9)), rng.randint(0, 12)) for i in range(500)]
    history: list[dict[int, set[int]]] = []
    repeats = far = total = 0
    for week in range(12):
        opted = [m for m in members if rng.random() < 0.8]  # some skip a week
        recent: dict[int, set[int]] = defaultdict(set)
        for past in history[-RECENT_WEEKS:]:
            for member, mates in past.items():
                recent[member] |= mates
        pods = make_pods(opted, recent, f"c1:w{week}")
        placed = [m for p in pods for m in p]
        assert sorted(placed) == sorted(m.member_id for m in opted)  # everyone, once
        assert all(POD_MIN <= len(p) <= POD_MAX for p in pods)
        by_id = {m.member_id: m for m in opted}
        mates: dict[int, set[int]] = defaultdict(set)
        for pod in pods:
            total += 1
            offsets = [by_id[m].offset_hours for m in pod]
            far += max(offsets) - min(offsets) > NEAR_HOURS
            for m in pod:
                mates[m] |= set(pod) - {m}
                repeats += bool(recent[m] & (set(pod) - {m}))
        history.append(mates)
    assert repeats == 0
    assert far / total < 0.02, (far, total)

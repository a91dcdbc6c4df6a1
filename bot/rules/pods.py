"""Buddy pods: the week's groups of 2 or 3 among the members who opted in. Pure and deterministic for a
cohort and week (the same members give the same pods, so any process decides alike).

Who goes with whom, in order of preference: not someone from their pods of the last 4 weeks, within 3
hours of each other's timezone, at a similar roadmap stage, then closest in time, then an order fixed per
week (so ties do not always fall alike).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

POD_MIN, POD_MAX = 2, 3
NEAR_HOURS = 3.0  # "within 3 hours of each other's timezone"
RECENT_WEEKS = 4  # podmates of this many weeks back are avoided
# Partners considered for each member, nearest in timezone and stage first: keeps a week of 10,000
# members to some milliseconds a member, not a comparison of everyone with everyone.
WINDOW = 60


@dataclass(frozen=True)
class Podder:
    """A member who opted in: their UTC offset now (hours) and their roadmap stage (its index)."""

    member_id: int
    offset_hours: float
    stage: int


def _tie(seed: str, a: int, b: int) -> str:
    low, high = sorted((a, b))
    return hashlib.blake2b(f"{seed}:{low}:{high}".encode(), digest_size=6).hexdigest()


def make_pods(
    members: Sequence[Podder], recent: Mapping[int, AbstractSet[int]], seed: str
) -> list[tuple[int, ...]]:
    """The week's pods: pairs, and a three where the count is odd; nobody alone unless alone opted in."""
    people = sorted(members, key=lambda p: (p.offset_hours, p.stage, _tie(seed, p.member_id, 0)))
    if len(people) < POD_MIN:
        return []

    def cost(a: Podder, b: Podder) -> tuple[bool, bool, int, float, str]:
        gap = abs(a.offset_hours - b.offset_hours)
        gap = min(gap, 24 - gap)  # -11 and +12 are an hour apart
        again = b.member_id in recent.get(a.member_id, ()) or a.member_id in recent.get(b.member_id, ())
        return (again, gap > NEAR_HOURS, abs(a.stage - b.stage), gap, _tie(seed, a.member_id, b.member_id))

    index = {p.member_id: i for i, p in enumerate(people)}
    free = dict.fromkeys(p.member_id for p in people)  # insertion-ordered: who is still to place
    by_id = {p.member_id: p for p in people}
    pods: list[list[int]] = []
    while len(free) >= POD_MIN:
        first = next(iter(free))
        me = by_id[first]
        del free[first]
        at = index[first]
        near = [
            by_id[p.member_id] for p in people[max(0, at - WINDOW) : at + WINDOW + 1] if p.member_id in free
        ] or [by_id[m] for m in free]
        partner = min(near, key=lambda other: cost(me, other))
        if cost(me, partner)[0]:  # only recent podmates nearby: look at everyone left before repeating
            partner = min((by_id[m] for m in free), key=lambda other: cost(me, other))
        del free[partner.member_id]
        pods.append([first, partner.member_id])
    _untangle(pods, lambda a, b: b in recent.get(a, ()) or a in recent.get(b, ()))
    for left in free:  # one left over: it joins the pod it fits best, making a three
        me = by_id[left]
        best = min(
            (pod for pod in pods if len(pod) < POD_MAX),
            key=lambda pod: max(cost(me, by_id[m]) for m in pod),
        )
        best.append(left)
    return [tuple(sorted(pod)) for pod in pods]


def _untangle(pods: list[list[int]], again: Callable[[int, int], bool]) -> None:
    """Swap members between pairs where a pair would meet again (the last pairs placed have least choice):
    the first swap after which neither pair repeats."""
    for pod in pods:
        if not again(pod[0], pod[1]):
            continue
        for other in pods:
            if other is pod:
                continue
            for i in (0, 1):
                a, b = [pod[0], other[i]], [pod[1], other[1 - i]]
                if not again(*a) and not again(*b):
                    pod[:], other[:] = a, b
                    break
            else:
                continue
            break

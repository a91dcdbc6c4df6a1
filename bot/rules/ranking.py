"""Places on a points board, shared by the leaderboard and the weekly recap so they never disagree.

The rule: more points place higher; members with equal points share the place (the next place after a tie
of two at 2nd is 4th, as in sports) and its medal, and are listed by name (ignoring case), then by who
joined studybot first, so the order is the same wherever the same totals are shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.kernel.types import ScoreRow
from bot.kernel.untrusted import verbatim

# The places that get a medal instead of a number.
MEDALS = ("🥇", "🥈", "🥉")


@dataclass(frozen=True)
class Placing:
    """One member's place on a board: `rank` 1 is first; `tied` when someone else has the same points."""

    row: ScoreRow
    rank: int
    tied: bool

    @property
    def badge(self) -> str:
        """🥇 🥈 🥉 for the first three places (shared when tied), then `4.`, or `=4.` when shared."""
        if self.rank <= len(MEDALS):
            return MEDALS[self.rank - 1]
        return f"{'=' if self.tied else ''}{self.rank}."

    def line(self) -> str:
        """The board's line for this place: badge, name (as typed) and points."""
        return f"{self.badge} {verbatim(self.row.name)}: {self.row.points} pts"


def board_order(row: ScoreRow) -> tuple[int, str, int]:
    """The order of a board: most points first, then by name ignoring case, then by member id."""
    return (-row.points, row.name.casefold(), row.member_id)


def placings(rows: Iterable[ScoreRow], top: int) -> list[Placing]:
    """The first `top` places among `rows` (members with points), ranked and ordered by the board's rule.

    Ranks and ties are judged among all of `rows`, so pass every member tied with the last one shown.
    """
    ordered = sorted((r for r in rows if r.points > 0), key=board_order)
    out: list[Placing] = []
    for i, row in enumerate(ordered[:top]):
        rank = out[-1].rank if out and out[-1].row.points == row.points else i + 1
        tied = (i > 0 and ordered[i - 1].points == row.points) or (
            i + 1 < len(ordered) and ordered[i + 1].points == row.points
        )
        out.append(Placing(row, rank, tied))
    return out

"""Points per activity: at most one answer and one check-in count per member and day, and one review."""

from bot.kernel.types import PEER_REVIEW_POINTS

# A right answer to the daily quiz, a wrong one (showing up counts), a check-in on a task, a review answer.
POINTS_CORRECT = 10
POINTS_WRONG = 2
POINTS_CHECKIN = 5
POINTS_REVIEW = 3
# Peer review's points, given by the store in the transaction that decides (see kernel.types).
POINTS_ACCEPTED = PEER_REVIEW_POINTS["accepted"]
POINTS_PEER_REVIEW = PEER_REVIEW_POINTS["reviewed"]

"""Points per activity: at most one answer and one check-in count per member and day, and one review."""

# A right answer to the daily quiz, a wrong one (showing up counts), a check-in on a task, a review answer.
POINTS_CORRECT = 10
POINTS_WRONG = 2
POINTS_CHECKIN = 5
POINTS_REVIEW = 3
POINTS_ACCEPTED = 10  # a submission accepted by peer review, to its author, once
POINTS_PEER_REVIEW = 3  # a review of someone's submission, to the reviewer, once per submission

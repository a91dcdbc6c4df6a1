"""Pure rules, no I/O and no clock of their own: calendar, streaks, schedule, pending posts, day guard,
ranking, review intervals, points."""

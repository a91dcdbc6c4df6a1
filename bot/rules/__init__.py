"""Pure rules: no I/O and no clock of their own (streaks, calendar, schedule, day guard, ranking)."""

"""What runs without a caller: the scheduler, daily posts, weekly recaps, streak reminders."""

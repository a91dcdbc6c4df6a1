"""studybot's platform-neutral core: commands, streaks, challenges and lookups."""

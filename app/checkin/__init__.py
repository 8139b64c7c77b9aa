"""Daily check-in: streaks with a reward cycle, monthly cumulative rewards, make-ups (补签)."""

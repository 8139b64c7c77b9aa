"""Offline events (线下活动): members sign in by scanning the event's code inside its time window."""

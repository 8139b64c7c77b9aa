"""The task center (任务中心): one-time, daily and weekly tasks that complete from events."""

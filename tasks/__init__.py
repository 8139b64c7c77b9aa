"""Background work on RQ: queues, jobs, the cron schedule, the worker."""

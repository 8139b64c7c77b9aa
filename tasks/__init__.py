"""Background work (RQ) and the pushes it sends.

- `queues.py`: the named queues, the worker that runs jobs inside the app, the cron schedule.
- `outbox.py`: jobs asked for inside a transaction, sent to Redis after commit (or later, when it is back).
- `delivery.py`: subscribe messages to members (grants, send log, retries) and WeCom group robots.
- `campaigns.py`: birthdays, member day, expiry warnings, win-back, the daily report.
- `automations.py`: welcome, level up, points expiring: pushes operators switch on and off.
- `routes.py` / `admin_routes.py`: members report subscribe grants; operators watch runs and retry.
"""

"""The bot: members message the official account, staff message the WeCom app, to do the common
things (check in, see the balance, get their poster, verify a pickup code) by text.

- `callbacks.py`: the WeChat side: signatures, timestamps, nonces, encryption, de-duplication.
- `registry.py`: commands as small functions registered by keyword, pattern or event.
- `member_commands.py` / `staff_commands.py`: what each side can say.
- `linking.py`: who is behind a follower or a WeCom user (unionid, one-time bind codes).
- `routes.py`: the callback URLs and the bind-code endpoints.
"""

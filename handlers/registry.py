"""Commands as small functions. A handler is registered by keyword (the whole message, e.g. 签到),
by pattern (a regular expression over the whole message, e.g. a 13-digit pickup code) or by event
(subscribe, a menu click); adding a command is one decorated function. Replies are Chinese text."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Incoming:
    """A message or event from WeChat, with who sent it (member or staff id when linked)."""

    channel: str              # "mp" (official account) or "work" (WeCom app)
    user: str                 # openid, or WeCom userid
    text: str = ""            # a text message's content, stripped; a menu click's key
    event: str | None = None  # subscribe, click, ... for events
    event_key: str | None = None
    member_id: int | None = None
    staff_id: int | None = None
    match: re.Match | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[Incoming], str]


@dataclass
class _Entry:
    handler: Handler
    needs_link: bool


class Registry:
    def __init__(self, name: str) -> None:
        self.name = name
        self._keywords: dict[str, _Entry] = {}
        self._patterns: list[tuple[re.Pattern, _Entry]] = []
        self._events: dict[str, _Entry] = {}
        self.unlinked: Handler = lambda incoming: ""
        self.fallback: Handler = lambda incoming: ""

    def command(self, *keywords: str, pattern: str | None = None, needs_link: bool = True):
        """Register a handler for messages equal to one of `keywords` (case-insensitive) or matching `pattern`."""
        def register(handler: Handler) -> Handler:
            entry = _Entry(handler, needs_link)
            for keyword in keywords:
                self._keywords[keyword.lower()] = entry
            if pattern:
                self._patterns.append((re.compile(pattern), entry))
            return handler
        return register

    def on_event(self, *events: str, needs_link: bool = False):
        def register(handler: Handler) -> Handler:
            for event in events:
                self._events[event.lower()] = _Entry(handler, needs_link)
            return handler
        return register

    def keywords(self) -> list[str]:
        return list(self._keywords)

    def dispatch(self, incoming: Incoming) -> str:
        entry = None
        if incoming.event:
            entry = self._events.get(incoming.event.lower())
            if entry is None and incoming.event.lower() == "click" and incoming.event_key:
                incoming.text = incoming.event_key  # menu clicks are mapped to the same commands
                entry = self._keywords.get(incoming.event_key.lower())
        else:
            entry = self._keywords.get(incoming.text.lower())
            if entry is None:
                for pattern, candidate in self._patterns:
                    incoming.match = pattern.fullmatch(incoming.text)
                    if incoming.match:
                        entry = candidate
                        break
        if entry is None:
            return self.fallback(incoming)
        if entry.needs_link and incoming.member_id is None and incoming.staff_id is None:
            return self.unlinked(incoming)
        return entry.handler(incoming)

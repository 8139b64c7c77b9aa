"""Domain events the core sends and features subscribe to (blinker, which Flask already uses).

The core never imports a feature: levels, posters, referrals or pushes connect to these signals.
Signals are sent after the transaction that caused them has committed, except `growth_changed`,
`purchase_recorded` and `level_changed`, which are sent inside the transaction so that a promotion commits with
the growth or the purchase that earned it (their receivers must not commit).
"""
from blinker import Namespace

_events = Namespace()

member_registered = _events.signal("member-registered")   # sender: app, member_id, scene
member_phone_bound = _events.signal("member-phone-bound")  # sender: app, member_id
member_erased = _events.signal("member-erased")            # sender: app, member_id
member_profile_updated = _events.signal("member-profile-updated")  # sender: app, member_id, complete
offline_event_attended = _events.signal("offline-event-attended")  # sender: app, member_id, offline_event_id
growth_changed = _events.signal("growth-changed")          # sender: None, member_id, growth, delta, reason_code
purchase_recorded = _events.signal("purchase-recorded")    # sender: None, member_id (inside the event's transaction)
level_changed = _events.signal("level-changed")            # sender: None, member_id, from_code, to_code, up (inside)

"""Presence events as PubNub's subscribe delivers them today: ``d`` and ``u``.

Every presence entry of a subscribe answer carries the event twice: ``d``,
the payload SDKs read, and ``u``, flat ``pn_*`` metadata (what filter
expressions see).  The shapes follow PubNub's recorded answers:

* join, leave, timeout (the official Python SDK's fixture
  ``asyncio/subscription/cg_join_leave.json``, October 2024)::

    "u": {"pn_action": "join", "pn_uuid": "u1", "pn_timestamp": 1730202614,
          "pn_precise_timestamp": 1730202614520, "pn_occupancy": 1,
          "pn_ispresence": 1, "pn_channel": "ch"}
    "d": {"action": "join", "uuid": "u1", "timestamp": 1730202614,
          "precise_timestamp": 1730202614520, "occupancy": 1}

* state-change (PubNub's Dart SDK, fixtures captured in 2026): ``d`` has
  ``data`` (the new state) before ``occupancy``, and ``u`` adds one
  ``pn_state_<key>`` per top-level key of that state.  A join that brings
  state carries ``data`` too; its ``u`` is built the same way (no recording
  of that case was found).
* interval: the one recording found (the same Dart fixtures, with placeholder
  uuids and a round timetoken: it looks edited) has only ``pn_action``,
  ``pn_channel``, ``pn_ispresence`` and ``pn_occupancy`` in ``u``, and no
  ``precise_timestamp`` in ``d``.  We add ``precise_timestamp`` to ``d`` and
  ``pn_timestamp``/``pn_precise_timestamp`` to ``u`` as on every other
  action: a client reading the older shape ignores them, and one that
  expects them (as on joins and leaves) finds them.  ``d`` has no ``uuid``.

``timestamp`` is unix seconds, ``precise_timestamp`` unix milliseconds of
the same instant (``timestamp == precise_timestamp // 1000``).  Entries
recorded before 2023 have neither ``u`` nor ``precise_timestamp``: clients
must accept both shapes.
"""

from __future__ import annotations

from typing import Any, Final

from pubnub_twisted.server.presence.store import PresenceEvent

__all__ = ["presence_meta", "presence_payload"]

Body = dict[str, Any]

#: ``u.pn_ispresence``: always 1 on a presence entry.
_IS_PRESENCE: Final = 1
_STATE_PREFIX: Final = "pn_state_"


def presence_payload(event: PresenceEvent) -> Body:
    """The ``d`` of a join, leave, timeout or state-change entry."""
    precise = event.precise_timestamp
    if precise is None:
        precise = event.timestamp * 1000
    payload: Body = {
        "action": event.action,
        "uuid": event.uuid,
        "timestamp": precise // 1000,
        "precise_timestamp": precise,
    }
    if event.state is not None:
        payload["data"] = event.state
    payload["occupancy"] = event.occupancy
    return payload


def presence_meta(channel: str, payload: Body) -> Body:
    """The ``u`` of a presence entry whose ``d`` is ``payload``.

    ``channel`` is the data channel (no ``-pnpres``); ``payload`` an interval
    payload, or one from :func:`presence_payload`.
    """
    if payload["action"] == "interval":
        return {
            "pn_action": "interval",
            "pn_timestamp": payload["timestamp"],
            "pn_precise_timestamp": payload["precise_timestamp"],
            "pn_occupancy": payload["occupancy"],
            "pn_ispresence": _IS_PRESENCE,
            "pn_channel": channel,
        }
    meta: Body = {
        "pn_action": payload["action"],
        "pn_uuid": payload["uuid"],
        "pn_timestamp": payload["timestamp"],
        "pn_precise_timestamp": payload["precise_timestamp"],
        "pn_occupancy": payload["occupancy"],
        "pn_ispresence": _IS_PRESENCE,
        "pn_channel": channel,
    }
    state = payload.get("data")
    if isinstance(state, dict):
        for key, value in state.items():
            meta[_STATE_PREFIX + key] = value
    return meta

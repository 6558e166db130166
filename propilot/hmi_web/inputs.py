"""Driver inputs from the display page: its JSON messages -> driver inputs and page actions.

In: one websocket text message of the page (`{"type": "input", "event": "APPROVE",
"proposal_uuid": "...", "source": "keyboard"}`, `{"type": "hands_on", "value": true}`,
`{"type": "continue"}`). Out: a `PageMessage`, or None for an unknown or malformed message
(logged, never raised: one bad message does not stop the display).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from propilot.core.types import DriverEvent, DriverInput

LOG = logging.getLogger("propilot.hmi_web")
SOURCES = ("display", "keyboard", "wheel")
MAX_MESSAGE_CHARS = 1000  # a page message is a few dozen characters


@dataclass(frozen=True, slots=True)
class PageMessage:
    kind: str  # input | hands_on | continue
    driver_input: DriverInput | None = None  # for kind input (t_s set when it reaches the stack)
    hands_on: bool = False  # for kind hands_on: the hands-on stand-in key is held


def parse_page_message(text: str | bytes) -> PageMessage | None:
    """The page's message, or None (logged) when it is unknown or malformed."""
    if len(text) > MAX_MESSAGE_CHARS:
        LOG.warning("display input ignored: message of %d characters", len(text))
        return None
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        LOG.warning("display input ignored: not JSON (%s)", exc)
        return None
    if not isinstance(data, dict):
        LOG.warning("display input ignored: expected an object, got %r", data)
        return None
    kind = data.get("type")
    if kind == "continue":
        return PageMessage("continue")
    if kind == "hands_on":
        if not isinstance(data.get("value"), bool):
            LOG.warning("display input ignored: hands_on.value must be true or false, got %r", data.get("value"))
            return None
        return PageMessage("hands_on", hands_on=data["value"])
    if kind != "input":
        LOG.warning("display input ignored: unknown type %r", kind)
        return None
    name = data.get("event")
    if not isinstance(name, str) or name not in DriverEvent.__members__ or name == "NONE":
        LOG.warning("display input ignored: unknown event %r", name)
        return None
    uuid = data.get("proposal_uuid", "")
    source = data.get("source", "display")
    if not isinstance(uuid, str) or source not in SOURCES:
        LOG.warning("display input ignored: bad proposal_uuid %r or source %r", uuid, source)
        return None
    return PageMessage("input", DriverInput(0.0, DriverEvent[name], uuid, source))

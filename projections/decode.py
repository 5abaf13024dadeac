"""Decoding stored events for the views, faster than the library's mapper, to the same values.

The mapper's JSON decoder calls a Python hook on every object, builds ``UUID`` objects that the
views only turn back into text, and resolves each event's class. Here the state is parsed by
the C ``json`` scanner alone; the library's ``{"_type_", "_data_"}`` wrappers are then
unwrapped by the transcoder's own transcodings, except ids, which become the canonical text
``str(UUID(...))`` would give (the only form the views store). Attributes are read from a
plain namespace, so a handler sees the same values either way, and
``tests/integration/test_projection_decode.py`` holds the two paths to that for every topic.

The mapper is used as is whenever the stored bytes are not plain JSON for us to read: a
cipher or a compressor configured, or an event stored under an older ``class_version`` (the
mapper applies the upcasters).
"""

from __future__ import annotations

import json
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent
from eventsourcing.utils import resolve_topic

_loads = json.loads
_fromiso = datetime.fromisoformat


def canonical_id(hex_text: str) -> str:
    """``"8c2e…5dc28"`` → ``"8c2eb799-8b88-59d3-bc78-2e5318b5dc28"`` (as ``str(UUID(hex))``)."""
    h = hex_text.lower()
    if len(h) != 32:
        raise ValueError(f"not a 32-digit UUID hex: {hex_text!r}")
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class _Foreign(Exception):
    """A wrapper whose transcoding is not registered: the mapper says what is wrong."""


class Decoder:
    """``decoder(stored) -> event-like object`` with the domain event's attributes."""

    def __init__(self, mapper: Mapper[Any]) -> None:
        self.mapper = mapper
        transcoder = mapper.transcoder
        self.plain = (
            mapper.cipher is None
            and mapper.compressor is None
            and isinstance(transcoder, JSONTranscoder)
        )
        self.names = transcoder.names if isinstance(transcoder, JSONTranscoder) else {}
        self._versioned: dict[str, bool] = {}

    def __call__(self, stored: StoredEvent) -> Any:
        if not self.plain or self._upcast(stored.topic):
            return self.mapper.to_domain_event(stored)
        state: dict[str, Any] = _loads(stored.state)
        if type(state) is not dict or "class_version" in state:
            return self.mapper.to_domain_event(stored)
        try:
            for key, value in state.items():
                kind = type(value)
                if kind is dict or kind is list:
                    state[key] = self._value(value)
        except _Foreign:
            return self.mapper.to_domain_event(stored)
        state["originator_id"] = stored.originator_id
        state["originator_version"] = stored.originator_version
        return SimpleNamespace(**state)

    def raw_topics(self, topics: frozenset[str]) -> frozenset[str]:
        """Those of ``topics`` whose stored state is the plain JSON of the current class."""
        if not self.plain:
            return frozenset()
        return frozenset(t for t in topics if not self._upcast(t))

    def _upcast(self, topic: str) -> bool:
        """Classes at ``class_version`` > 1 have upcasters: the mapper runs them."""
        found = self._versioned.get(topic)
        if found is None:
            found = getattr(resolve_topic(topic), "class_version", 1) > 1
            self._versioned[topic] = found
        return found

    def _value(self, value: Any) -> Any:
        if type(value) is list:
            return [self._value(v) if type(v) in (dict, list) else v for v in value]
        if type(value) is not dict:
            return value
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            name, data = value["_type_"], value["_data_"]
            if name == "datetime_iso":
                return _fromiso(data)
            if name == "uuid_hex":
                return canonical_id(data)
            transcoding = self.names.get(name)
            if transcoding is None:
                raise _Foreign(name)
            return transcoding.decode(self._value(data))  # inner objects first, as the hook
        return {k: self._value(v) for k, v in value.items()}

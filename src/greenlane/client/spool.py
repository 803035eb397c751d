"""An offline lane's spool: every decision taken without the server, until the server has it.

One JSON line per decision, appended and fsynced before the lane acts on it. Entries leave only
when the server has acknowledged them (or refused them for good, when they move to the
``.rejected`` file beside the spool for an operator to look at); nothing is ever dropped.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Generic, TypeVar

import msgspec

from greenlane.client.durable import append_durably, write_atomically
from greenlane.wire.trips import TripVerifyAnswer, TripVerifyRequest
from greenlane.wire.verify import VerifyAnswer, VerifyRequest


class SingleEntryUse(msgspec.Struct, frozen=True):
    """A single-entry clearance let through in one direction; kept until the token expires."""

    clearance_id: str
    direction: str
    expires_at: int


class SpoolEntry(msgspec.Struct, kw_only=True):
    """The request exactly as it will be sent (same event id, ``observed_at`` set when the lane
    decided), the answer the lane acted on, and the single-entry use it made, if any."""

    request: VerifyRequest
    answer: VerifyAnswer
    use: SingleEntryUse | None = None

    @property
    def event_id(self) -> uuid.UUID:
        return self.request.event_id


class TripSpoolEntry(msgspec.Struct, kw_only=True):
    """A trip decided offline: as :class:`SpoolEntry`, with a single-entry use per member."""

    request: TripVerifyRequest
    answer: TripVerifyAnswer
    uses: list[SingleEntryUse] = msgspec.field(default_factory=list)

    @property
    def event_id(self) -> uuid.UUID:
        return self.request.event_id


_ENCODE = msgspec.json.Encoder()
E = TypeVar("E", SpoolEntry, TripSpoolEntry)


class Spool(Generic[E]):
    """Not thread-safe by itself: the offline verifier calls it under its lock. One spool
    holds one kind of entry: a lane keeps its trips in a spool of their own."""

    def __init__(self, path: Path, kind: type[E]) -> None:
        self.path = path
        self.rejected_path = path.with_name(path.name + ".rejected")
        self._decode: msgspec.json.Decoder[E] = msgspec.json.Decoder(kind)
        self._repair()

    def _lines(self) -> list[bytes]:
        if not self.path.exists():
            return []
        return self.path.read_bytes().splitlines(keepends=True)

    def _repair(self) -> None:
        """Set aside what a crash may have left half-written (a torn last line), so that every
        later append starts on a line of its own."""
        lines = self._lines()
        unreadable = [line for line in lines if not self._readable(line)]
        if not unreadable:
            return
        append_durably(
            self.rejected_path, b"".join(line.rstrip(b"\n") + b"\n" for line in unreadable)
        )
        write_atomically(self.path, b"".join(line for line in lines if self._readable(line)))

    def _readable(self, line: bytes) -> bool:
        if not line.endswith(b"\n"):
            return False
        try:
            self._decode.decode(line)
        except msgspec.DecodeError:
            return False
        return True

    def entries(self) -> list[E]:
        return [self._decode.decode(line) for line in self._lines()]

    def append(self, entry: E) -> None:
        append_durably(self.path, _ENCODE.encode(entry) + b"\n")

    def settle(self, acknowledged: Collection[uuid.UUID], refused: Sequence[E]) -> None:
        """Remove acknowledged and refused entries; refused ones are kept in ``.rejected``."""
        if refused:
            append_durably(
                self.rejected_path, b"".join(_ENCODE.encode(entry) + b"\n" for entry in refused)
            )
        done = set(acknowledged) | {entry.event_id for entry in refused}
        if not done:
            return
        kept = [line for line in self._lines() if self._decode.decode(line).event_id not in done]
        write_atomically(self.path, b"".join(kept))

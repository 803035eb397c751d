"""What a worker and its rule processes say to each other, over the process's stdin and stdout.

The worker (``rule_runner``) sends a ``Job``; the process (``rule_process``) answers each of its
conditions with a ``domain.rules.Verdict`` as soon as that condition is done, so that the worker
knows which one is running when one takes too long. Each message is a frame: a 4-byte big-endian
length and a msgpack body. A process says ``READY`` once, when it can take jobs.
"""

import struct
from typing import Any, Final

import msgspec

HEADER: Final = struct.Struct(">I")
READY: Final = b"ready"


class Job(msgspec.Struct, frozen=True, array_like=True):
    """Conditions to evaluate, in order, against one context from ``build_context``."""

    conditions: list[str]
    context: dict[str, Any]


def frame(body: bytes) -> bytes:
    return HEADER.pack(len(body)) + body

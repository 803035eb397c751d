"""The process that evaluates rule conditions for a worker (see ``rule_runner``).

Run as ``python -m greenlane.services.rule_process``: it says ``READY``, then reads one ``Job``
at a time from stdin and writes each condition's ``Verdict`` to stdout as soon as it has it
(``rule_protocol``). It exits when stdin closes, that is when its worker is gone.
"""

import functools
import signal
import sys
import types
from typing import IO

# ``import cel`` also imports ``cel.cli``, the package's interactive shell (prompt_toolkit, rich):
# about 250 ms and 20 MB that a rule process never uses, paid each time one starts.
sys.modules.setdefault("cel.cli", types.ModuleType("cel.cli"))

import cel  # noqa: E402
import msgspec  # noqa: E402

from greenlane.domain.rules import (  # noqa: E402
    CompiledCondition,
    compile_condition,
    run_condition,
)
from greenlane.services.rule_protocol import HEADER, READY, Job, frame  # noqa: E402


@functools.lru_cache(maxsize=1024)
def _compiled(source: str) -> CompiledCondition:
    """Compiled once per process: the worker sends only conditions that compiled there."""
    return compile_condition(source)


def _read_frame(stream: IO[bytes]) -> bytes | None:
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (length,) = HEADER.unpack(header)
    return stream.read(length)


def main() -> None:
    # Ctrl-C reaches the whole process group; the worker decides when this process ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    reader, writer = sys.stdin.buffer, sys.stdout.buffer
    jobs = msgspec.msgpack.Decoder(Job)
    encode = msgspec.msgpack.Encoder().encode
    writer.write(frame(READY))
    writer.flush()
    while (body := _read_frame(reader)) is not None:
        job = jobs.decode(body)
        context = cel.Context(job.context)
        for source in job.conditions:
            writer.write(frame(encode(run_condition(_compiled(source), context))))
            writer.flush()


if __name__ == "__main__":
    main()

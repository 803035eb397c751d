"""Rule conditions run off the event loop, in processes of the worker's own, each on a budget.

Not a thread: the cel binding holds the GIL for the whole of an evaluation, so a condition
running in a thread stops the event loop all the same (measured: no other coroutine runs
during a 250 ms evaluation in ``asyncio.to_thread``), and a thread cannot be stopped. A process
can. Each worker keeps up to ``PROCESSES`` of them (started when first needed), sends one
application's conditions to one, and waits at most ``budget`` seconds for each condition's
verdict. A condition that takes longer gets a ``timeout`` verdict; its process is killed, so
nothing keeps running, and the application's remaining conditions go on in another process.

The static limits (``domain.rules.cost``) keep every condition written since they exist far
below the budget; the budget stops what the estimate misses and rules stored before the
limits, and it keeps the answer coming whatever a condition does.
"""

import asyncio
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final

import msgspec

from greenlane.domain.rules import Verdict
from greenlane.errors import ServiceUnavailable
from greenlane.services.rule_protocol import HEADER, READY, Job, frame

# One process may be stuck on a runaway condition while the other keeps deciding.
PROCESSES: Final = 2
# Starting a process (Python, cel) takes about 80 ms, far longer on a loaded machine; it is
# not part of any condition's budget.
START_TIMEOUT: Final = 30.0


class RulesUnavailable(ServiceUnavailable):
    """No rule process could be started (the machine is out of processes or memory): no
    application can be decided, so the caller is asked to try again (503)."""

    def __init__(self) -> None:
        super().__init__(detail="Eligibility rules cannot be evaluated right now; try again.")


class _RuleProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdin is not None
        assert process.stdout is not None
        self._process = process
        self._stdin = process.stdin
        self._stdout = process.stdout

    @classmethod
    async def start(cls) -> "_RuleProcess":
        """A process that has said it can take jobs; ``RulesUnavailable`` if none can start."""
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "greenlane.services.rule_process",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
        except OSError as error:
            raise RulesUnavailable() from error
        started, ready = cls(process), b""
        try:
            async with asyncio.timeout(START_TIMEOUT):
                ready = await started.read()
        except (TimeoutError, asyncio.IncompleteReadError):
            pass  # it died or hangs: refused below, as any answer but READY
        finally:
            if ready != READY:  # failed, hung or cancelled: nothing is left running
                await started.stop()
        if ready != READY:
            raise RulesUnavailable()
        return started

    async def send(self, body: bytes) -> None:
        self._stdin.write(frame(body))
        await self._stdin.drain()

    async def read(self) -> bytes:
        (length,) = HEADER.unpack(await self._stdout.readexactly(HEADER.size))
        return await self._stdout.readexactly(length)

    @property
    def alive(self) -> bool:
        return self._process.returncode is None

    async def stop(self) -> None:
        """Kill the process, whatever it is doing, and reap it."""
        if self._process.returncode is None:
            self._process.kill()
        await self._process.wait()


class RuleRunner:
    """One worker's rule processes. ``budget`` is the time one condition may take, in seconds."""

    def __init__(self, budget: float) -> None:
        self._budget = budget
        self._slots = asyncio.Semaphore(PROCESSES)
        self._idle: list[_RuleProcess] = []
        self._closed = False
        self._encode = msgspec.msgpack.Encoder().encode
        self._verdict = msgspec.msgpack.Decoder(Verdict).decode
        self._stopped = f"stopped after its budget of {round(budget * 1000)} ms"

    async def run(self, conditions: Sequence[str], context: Mapping[str, Any]) -> list[Verdict]:
        """One verdict per condition, in order, each within the budget or a ``timeout``."""
        verdicts: list[Verdict] = []
        while len(verdicts) < len(conditions):
            job = Job(list(conditions[len(verdicts) :]), dict(context))
            await self._run_in_one_process(job, verdicts)
        return verdicts

    async def _run_in_one_process(self, job: Job, verdicts: list[Verdict]) -> None:
        """Append a verdict for each of the job's conditions until one fails to come back."""
        process = await self._acquire()
        healthy = False
        started = time.perf_counter_ns()
        try:
            await process.send(self._encode(job))
            for _ in job.conditions:
                try:
                    async with asyncio.timeout(self._budget):
                        body = await process.read()
                except TimeoutError:
                    verdicts.append(Verdict("timeout", _since(started), self._stopped))
                    return
                verdicts.append(self._verdict(body))
                started = time.perf_counter_ns()
            healthy = True
        except (ConnectionError, asyncio.IncompleteReadError):  # killed, out of memory, crashed
            verdicts.append(Verdict("error", _since(started), "the evaluation process stopped"))
        finally:
            # A process that timed out, died, or was interrupted mid-job is still evaluating
            # or holds unread verdicts: it never gets another job.
            if healthy and not self._closed:
                self._idle.append(process)
            else:
                await process.stop()
            self._slots.release()

    async def _acquire(self) -> _RuleProcess:
        await self._slots.acquire()
        try:
            while self._idle:
                process = self._idle.pop()
                if process.alive:
                    return process
                await process.stop()
            return await _RuleProcess.start()
        except BaseException:
            self._slots.release()
            raise

    async def close(self) -> None:
        """Stop the idle processes; one still busy is stopped when its job ends."""
        self._closed = True
        idle, self._idle = self._idle, []
        for process in idle:
            await process.stop()


def _since(started: int) -> int:
    return (time.perf_counter_ns() - started) // 1000

"""A port lane under load: ``POST /v1/verify`` with the mix of questions a real lane asks.

``loadtests/run.py`` (``make loadtest``) starts a server, seeds it with ``bench/harness.py`` and
names the seed file (the JSON of ``Seeded.save``) in ``GREENLANE_LOADTEST_SEED``. Every user is
a camera of the seeded lane: it signs in once with the lane's client credentials, then asks
mostly about valid multiple-entry passes and sometimes about a revoked pass, a pass shown with
someone else's document, a pass for another port, a single-entry pass (green once, then
``already_used``) or an event id it already sent (the first answer again, byte for byte).

Every answer is checked, not only its status: a 200 with the wrong decision is a failure. The
gate in ``events.quitting`` fails the run on any failure, or when the p99 of the verify
requests is over ``GREENLANE_LOADTEST_P99_MS`` (default 250 ms).

The single-entry passes are handed out by this process, so run it in one process (no
``--processes``, no workers): two processes would cross the same pass and disagree.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from locust import events, task
from locust.contrib.fasthttp import FastHttpUser, ResponseContextManager
from locust.env import Environment
from locust.exception import StopUser

VERIFY = "/v1/verify"
DEFAULT_P99_MS = 250
# Sign in again this long before the access token expires rather than meet a 401 mid-run.
RENEW_MARGIN_S = 30
# Enough recent requests to replay from without keeping every body of a long run.
REPLAY_MEMORY = 100


@dataclass(frozen=True)
class Pass:
    token: str
    document: dict[str, str]


@dataclass(frozen=True)
class Expected:
    decision: str
    codes: tuple[str, ...] = ()


GREEN = Expected("green")


class Passes:
    """The seeded passes, sorted by the answer a lane at the seeded port should get for them."""

    def __init__(self, seeded: dict[str, Any]) -> None:
        self.lane_id: str = seeded["lane_id"]
        self.lane_secret: str = seeded["lane_secret"]
        self.multiple = [_pass(p) for p in seeded["passes"] if not p["single"]]
        self.revoked = [_pass(p) for p in seeded["revoked"]]
        self.elsewhere = [_pass(p) for p in seeded["elsewhere"]]
        self.unused_single = [_pass(p) for p in seeded["passes"] if p["single"]]
        self.used_single: list[Pass] = []
        if len(self.multiple) < 2 or not self.revoked or not self.elsewhere:
            raise SystemExit("the seed file holds too few passes for the mix")


def _pass(raw: dict[str, Any]) -> Pass:
    return Pass(raw["token"], {"number": raw["number"], "issuing_state": raw["issuing_state"]})


_seeded: Passes | None = None  # read once, at test start


def passes() -> Passes:
    assert _seeded is not None, "the seed is read at test start"
    return _seeded


@events.test_start.add_listener
def _load_seed(environment: Environment, **_kwargs: Any) -> None:
    path = os.environ.get("GREENLANE_LOADTEST_SEED")
    if not path:
        raise SystemExit("GREENLANE_LOADTEST_SEED must name the seed file (see loadtests/run.py)")
    global _seeded
    _seeded = Passes(json.loads(Path(path).read_text()))


def _problem(response: ResponseContextManager, expected: Expected) -> str | None:
    """What is wrong with a verify answer, or None when it is the answer the lane should get."""
    if response.status_code != 200:
        return f"status {response.status_code}: {(response.text or '')[:200]}"
    try:
        answer = response.json()
    except ValueError:
        return "the body is not JSON"
    codes = tuple(reason["code"] for reason in answer.get("reasons", []))
    if (answer.get("decision"), codes) != (expected.decision, expected.codes):
        return f"{answer.get('decision')} {list(codes)}"
    if answer.get("mode") != "online":
        return f"mode {answer.get('mode')}"
    if expected.decision == "green" and not answer.get("crossing_id"):
        return "green without a crossing_id"
    if expected.decision == "deny" and "holder" in answer:
        return "a deny names the holder"
    return None


class Lane(FastHttpUser):
    """One lane camera: each task is one vehicle or traveller at the barrier."""

    def on_start(self) -> None:
        self._renew_at = 0.0
        self._sent: deque[tuple[str, bytes]] = deque(maxlen=REPLAY_MEMORY)
        self._sign_in()

    def _sign_in(self) -> None:
        lane = passes()
        with self.client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": lane.lane_id,
                "client_secret": lane.lane_secret,
            },
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"lane sign-in: status {response.status_code}")
                raise StopUser
            granted = response.json()
        self.client.auth_header = f"Bearer {granted['access_token']}"
        self._renew_at = time.monotonic() + granted["expires_in"] - RENEW_MARGIN_S

    def _post(self, body: str) -> ResponseContextManager:
        if time.monotonic() >= self._renew_at:
            self._sign_in()
        return self.client.post(
            VERIFY, data=body, headers={"Content-Type": "application/json"}, catch_response=True
        )

    def _verify(self, kind: str, body: str, expected: Expected) -> bool:
        """Ask, check the answer and remember it for replays; True when it was as expected."""
        with self._post(body) as response:
            problem = _problem(response, expected)
            if problem is not None:
                response.failure(
                    f"{kind}: expected {expected.decision} {list(expected.codes)}, got {problem}"
                )
                return False
            response.success()
            self._sent.append((body, response.content or b""))
            return True

    def _ask(
        self,
        kind: str,
        card: Pass,
        expected: Expected,
        *,
        document: dict[str, str] | None = None,
        direction: str | None = None,
    ) -> bool:
        question = {
            "token": card.token,
            "direction": direction or random.choice(("entry", "exit")),
            "event_id": str(uuid.uuid4()),
            "document": document or card.document,
        }
        return self._verify(kind, json.dumps(question), expected)

    @task(80)
    def green(self) -> None:
        self._ask("green", random.choice(passes().multiple), GREEN)

    @task(4)
    def revoked(self) -> None:
        self._ask("revoked", random.choice(passes().revoked), Expected("deny", ("token_revoked",)))

    @task(4)
    def wrong_document(self) -> None:
        card, someone_else = random.sample(passes().multiple, 2)
        self._ask(
            "wrong_document",
            card,
            Expected("deny", ("document_mismatch",)),
            document=someone_else.document,
        )

    @task(4)
    def wrong_port(self) -> None:
        self._ask(
            "wrong_port", random.choice(passes().elsewhere), Expected("deny", ("wrong_port",))
        )

    @task(4)
    def single_entry(self) -> None:
        """A fresh single-entry pass crosses once; one that has crossed is turned back."""
        lane = passes()
        if lane.unused_single and (not lane.used_single or random.random() < 0.5):
            card = lane.unused_single.pop()
            if self._ask("single_entry", card, GREEN, direction="entry"):
                lane.used_single.append(card)
        elif lane.used_single:
            card = random.choice(lane.used_single)
            self._ask("single_entry", card, Expected("deny", ("already_used",)), direction="entry")

    @task(4)
    def replay(self) -> None:
        """A lane that did not hear the answer asks again with the same event id."""
        if not self._sent:
            return
        body, first = random.choice(self._sent)
        with self._post(body) as response:
            if response.status_code != 200:
                response.failure(f"replay: status {response.status_code}")
            elif response.content != first:
                response.failure("replay: the answer differs from the first one")
            else:
                response.success()


def figures(environment: Environment) -> dict[str, float]:
    """The verify requests' figures (failures count every request, the sign-ins too)."""
    stats = environment.stats
    verify = stats.get(VERIFY, "POST")
    return {
        "requests": verify.num_requests,
        "failures": stats.total.num_failures,
        "p50_ms": verify.get_response_time_percentile(0.5),
        "p99_ms": verify.get_response_time_percentile(0.99),
        "rps": round(verify.total_rps, 1),
    }


@events.quitting.add_listener
def _gate(environment: Environment, **_kwargs: Any) -> None:
    """Fail the run on any failed request or a verify p99 over budget, saying which.

    The figures also go to the file named by ``GREENLANE_LOADTEST_REPORT``, if any: Locust's
    CSV files are written on a timer and miss the last second of the run.
    """
    budget = int(os.environ.get("GREENLANE_LOADTEST_P99_MS", DEFAULT_P99_MS))
    seen = figures(environment)
    if report := os.environ.get("GREENLANE_LOADTEST_REPORT"):
        Path(report).write_text(json.dumps(seen))
    if seen["failures"]:
        verdict = "FAILED: some answers were not the expected ones (see the error report)"
    elif not seen["requests"]:
        verdict = "FAILED: no verify request was made"
    elif seen["p99_ms"] > budget:
        verdict = f"FAILED: the verify p99 is over the {budget} ms budget"
    else:
        verdict = f"PASSED (p99 budget {budget} ms)"
    print(
        f"load test gate {verdict}: {seen['requests']:.0f} verifies, "
        f"{seen['failures']:.0f} failures, p50 {seen['p50_ms']:.0f} ms, "
        f"p99 {seen['p99_ms']:.0f} ms, {seen['rps']:.0f} verifies/s"
    )
    if not verdict.startswith("PASSED"):
        environment.process_exit_code = 1

"""``make bench-profile`` charges py-spy's samples to the right layer and stages."""

from __future__ import annotations

import sysconfig

from bench.profile import charge, frame_file, layer_of

STDLIB = sysconfig.get_paths()["stdlib"]
SITE = "/srv/venv/lib/python3.11/site-packages"


def frame(function: str, path: str, line: int = 1) -> str:
    return f"{function} ({path}:{line})"


HANDLER = frame("__call__", f"{SITE}/greenlane/api/lane_direct.py")
CHECK = frame("check", f"{SITE}/greenlane/domain/lane_checks.py")
OTHER_CHECK = frame("parse", f"{SITE}/greenlane/domain/lane_checks.py")
SIGNATURE = frame("verify", f"{SITE}/cryptography/hazmat/primitives/asymmetric/ec.py")
UUID = frame("uuid4", f"{STDLIB}/uuid.py")
LOOP = frame("_run_once", f"{STDLIB}/asyncio/base_events.py")
WRITE = frame("write", f"{STDLIB}/asyncio/selector_events.py")
SEND = frame("send", f"{SITE}/uvicorn/protocols/http/httptools_impl.py")


def test_a_frame_names_its_file_and_a_native_frame_none() -> None:
    assert frame_file(HANDLER) == f"{SITE}/greenlane/api/lane_direct.py"
    assert frame_file("PyObject_Call") == ""


def test_layers_are_packages_greenlane_modules_and_standard_library_modules() -> None:
    assert layer_of(f"{SITE}/cryptography/x.py") == "signature (cryptography)"
    assert layer_of(f"{SITE}/greenlane/services/verify.py") == "greenlane.services.verify"
    assert layer_of(f"{SITE}/anyio/_backends/_asyncio.py") == "anyio"
    assert layer_of(f"{STDLIB}/asyncio/events.py") == "event loop and sockets (asyncio)"
    assert layer_of(f"{STDLIB}/uuid.py") == "Python: uuid"
    assert layer_of("<frozen importlib._bootstrap>") is None


def test_a_sample_goes_to_its_innermost_layer_and_to_every_stage_on_its_stack() -> None:
    lines = [
        f"process;{LOOP};{HANDLER};{CHECK};{SIGNATURE} 7",
        f"process;{LOOP};{HANDLER};{UUID} 2",
        f"process;{LOOP};{HANDLER};{OTHER_CHECK} 5",
        f"process;{LOOP};{SEND};{WRITE} 3",
        f"process;{LOOP};{HANDLER};{frame('x', '<frozen abc>')} 1",
        "a line that is not a sample",
    ]
    samples, by_layer, by_stage = charge(lines)
    assert samples == 18
    assert by_layer == {
        "signature (cryptography)": 7,
        "Python: uuid": 2,
        "event loop and sockets (asyncio)": 3,
        "greenlane.api.lane_direct": 1,
        "greenlane.domain.lane_checks": 5,
    }
    assert by_stage["the lanes' routes, all they call but the commit"] == 15
    assert by_stage["the checks of one token (signature included)"] == 7
    assert by_stage["the checks of one trip token"] == 0
    assert by_stage["logging, anywhere"] == 0


def test_greenlane_is_found_installed_or_editable_whatever_the_checkout_is_called() -> None:
    assert layer_of("/home/a/greenlane/src/greenlane/db/pool.py") == "greenlane.db.pool"
    venv = "/home/a/greenlane/.venv/lib/python3.11/site-packages"
    assert layer_of(f"{venv}/anyio/from_thread.py") == "anyio"

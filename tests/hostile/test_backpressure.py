"""A peer that stops reading: the sessions stop sending (bounded memory), the messages they
could not send are counted as unsent (not sent), and the generator's health names the target."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.conftest import UNIT, HostileServer, Run, run_all

RATE, SIZE, SECONDS = 100, 65536, 3


@pytest.fixture(scope="module")
def runs(hostile: HostileServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    tmp: Path = tmp_path_factory.mktemp("backpressure")
    url = hostile.url("not_reading")

    def args(transport: str) -> list[str]:  # the issue's case: ~13 MB/s offered per session
        return ["--target", f"deaf={url}", "--sessions", "2", "--processes", "1", "--rate", str(RATE),
                "--message-size", str(SIZE), "--duration", str(SECONDS), "--no-reconnect"]

    return run_all(args, tmp, timeout=120 * UNIT)


@pytest.mark.parametrize("transport", ["picows", "lean", "websockets"])
def test_a_peer_that_stops_reading_is_not_sent_to(runs: dict[str, Run], transport: str) -> None:
    run = runs[transport]
    assert run.returncode == 0, run.stderr[-2000:]
    target = run.target("deaf")
    messages, sessions = target["messages"], target["sessions"]
    scheduled = 2 * RATE * SECONDS
    assert messages["unsent"] > scheduled / 4, messages  # most of them held back, counted
    assert messages["sent"] + messages["unsent"] <= scheduled + 2 * RATE, messages
    assert messages["received"] == 0
    assert sessions["pushed_back"] == 2
    assert run.worker_rss_mb("deaf") < 200, run.worker_rss_mb("deaf")
    assert run.result["generator"]["pushed_back"] == {"deaf": {"sessions": 2, "unsent": messages["unsent"]}}
    assert "target deaf stopped reading" in run.stderr
    assert "Traceback" not in run.stderr
    pushed = [e for e in run.events("deaf") if e["kind"] == "session_pushed_back"]
    assert len(pushed) == 2

"""Which transport a scenario gets (``transport: auto``), and the choice end to end."""

from __future__ import annotations

import pytest

from wsbench.engine.choice import choose_transport
from wsbench.engine.lean import LeanTransport
from wsbench.engine.runner import run_scenario
from wsbench.engine.transports import PicowsTransport, WebsocketsTransport
from wsbench.scenario import ScenarioError, parse_scenario
from wsbench.server.process import ServeOptions, start_server

URL = "t=ws://127.0.0.1:9/"


@pytest.mark.parametrize(
    ("settings", "transport"),
    [
        ({"mode": "closed"}, PicowsTransport),
        ({"mode": "rate", "rate": 10}, PicowsTransport),
        ({"mode": "rate", "rate": 1}, LeanTransport),
        ({"mode": "rate", "rate": 0.01}, LeanTransport),
        ({"mode": "rate", "rate": 0.01, "deflate": True}, WebsocketsTransport),
        ({"mode": "closed", "transport": "lean"}, LeanTransport),
        ({"mode": "rate", "rate": 0.01, "transport": "picows"}, PicowsTransport),
        ({"mode": "closed", "transport": "websockets"}, WebsocketsTransport),
    ],
)
def test_auto_picks_lean_for_idle_heavy_runs_only(settings, transport):
    assert choose_transport(parse_scenario({"targets": [URL], **settings})) is transport


@pytest.mark.parametrize("transport", ["picows", "lean"])
def test_deflate_needs_a_transport_that_has_it(transport):
    with pytest.raises(ScenarioError, match="permessage-deflate"):
        parse_scenario({"targets": [URL], "transport": transport, "deflate": True})


def test_an_idle_heavy_run_goes_lean_and_a_closed_loop_run_picows(tmp_path):
    with start_server(ServeOptions()) as server:
        runs = {}
        for mode, settings in (("rate", {"rate": 0.5, "ping_interval": 0.5}),
                               ("closed", {"messages": 20})):
            scenario = parse_scenario({
                "targets": [f"t={server.url}"], "processes": 1, "out": str(tmp_path / mode),
                "sessions": 20, "ramp": 0, "mode": mode, "duration": 2, **settings,
            })
            runs[mode] = run_scenario(scenario).result
    lean, picows = runs["rate"], runs["closed"]
    assert [w["transport"] for w in lean["generator"]["workers"]] == ["lean"]
    assert [w["transport"] for w in picows["generator"]["workers"]] == ["picows"]
    for result in (lean, picows):
        target = result["targets"]["t"]
        assert result["complete"] and target["sessions"]["opened"] == 20
        assert target["sessions"]["dropped"] == 0 and target["messages"]["lost"] == 0
        assert target["messages"]["received"] == target["messages"]["sent"] > 0
    assert picows["targets"]["t"]["messages"]["received"] == 20 * 20

"""Real worker shards and the Results the previous (two-merge) code made of them.

``data/real_runs.json`` was recorded with wsbench before the one merge: two shard runs
(``--shard 0/2`` and ``1/2``, two workers each, an ``exec`` disruption at 1 s, an offered
subprotocol) and one plain run against a ``wsbench serve`` pod; for each run the worker
shards (timelines read back as the runner reads them) and the ``result.json`` the runner
wrote, plus what ``wsbench merge`` made of the two shard runs (run id ``merged-fixture``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data" / "real_runs.json"


@pytest.fixture(scope="session")
def real_runs() -> dict[str, Any]:
    return json.loads(DATA.read_text())


@pytest.fixture(scope="session")
def resultgen() -> Any:
    """The Result generator of tests/report (shared with the gate tests)."""
    from tests.gate.conftest import _resultgen

    return _resultgen()

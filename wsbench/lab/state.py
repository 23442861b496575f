"""Where a lab keeps its files, and its state file (so another process can find it)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from wsbench.files import write_json_atomic
from wsbench.lab.model import LabState

__all__ = ["state_root", "lab_dir", "load_state", "save_state", "default_lab_name", "STATE_FILE",
           "LAB_NAME_ENV", "LAB_DIR_ENV"]

STATE_FILE = "state.json"
#: names the lab every command uses when none is given (``--name`` / ``--lab-name`` win)
LAB_NAME_ENV = "WSBENCH_LAB_NAME"
#: the folder holding every lab's folder
LAB_DIR_ENV = "WSBENCH_LAB_DIR"


def default_lab_name() -> str:
    """``$WSBENCH_LAB_NAME``, else ``default``."""
    return os.environ.get(LAB_NAME_ENV) or "default"


def state_root() -> Path:
    """``$WSBENCH_LAB_DIR``, else ``$XDG_STATE_HOME/wsbench/lab`` (``~/.local/state/...``)."""
    explicit = os.environ.get(LAB_DIR_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "wsbench" / "lab"


def lab_dir(name: str, state_dir: str | None = None) -> Path:
    """The folder of the lab called ``name`` (``state_dir`` wins when given)."""
    return Path(state_dir) if state_dir else state_root() / name


def load_state(directory: Path) -> LabState | None:
    """The saved state, or None when there is no lab there."""
    path = directory / STATE_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    return LabState.from_json(data)


def save_state(state: LabState) -> None:
    """Write the state atomically (temp file + rename)."""
    directory = Path(state.state_dir)
    directory.mkdir(parents=True, exist_ok=True)
    write_json_atomic(directory / STATE_FILE, state.to_json(), indent=2)

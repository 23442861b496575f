"""Open a page in headless Chromium and observe it through the DevTools protocol.

Collects console messages, uncaught exceptions, log entries and every network request
while a ``file://`` page loads, then reads the page text and takes a screenshot.
Chromium is Debian's ``chromium``; the DevTools endpoint comes from the
``DevToolsActivePort`` file of a fresh profile (port 0: no clashes on a shared machine).
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

from tests.utils import UNIT, wait_until

__all__ = ["chromium_path", "Browser", "PageVisit"]

TIMEOUT_S = 20.0 * UNIT


def chromium_path() -> str | None:
    """The chromium binary, or None when it is not installed."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageVisit:
    """What happened while one page loaded."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    console_messages: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    text: str = ""
    screenshot_png: bytes = b""

    @property
    def foreign_requests(self) -> list[str]:
        """Requests other than the page itself (any would be a network or file dependency)."""
        return [r for r in self.requests if r != self.url and not r.startswith("data:")]


class Browser:
    """One headless Chromium; use as a context manager."""

    def __init__(self, binary: str, *, width: int = 1366, height: int = 900) -> None:
        self.binary = binary
        self.width = width
        self.height = height
        self._profile = tempfile.mkdtemp(prefix="wsbench-chromium-")
        self._process: subprocess.Popen[bytes] | None = None
        self._socket: Any = None
        self._stack = contextlib.ExitStack()
        self._next_id = 0

    def __enter__(self) -> Browser:
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self) -> None:
        self._process = subprocess.Popen(
            [
                self.binary, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-quic", "--no-first-run",
                "--disable-component-update", "--disable-sync", "--disable-extensions",
                f"--user-data-dir={self._profile}", "--remote-debugging-port=0",
                f"--window-size={self.width},{self.height}", "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = Path(self._profile) / "DevToolsActivePort"

        def devtools_port() -> list[str] | None:
            lines = port_file.read_text().split() if port_file.exists() else []
            if len(lines) >= 2:
                return lines
            if self._process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self._process.returncode}")
            return None

        lines = wait_until(devtools_port, 20, interval=0.05, what="chromium's DevTools port")
        port, path = lines[0], lines[1]
        self._socket = self._stack.enter_context(
            connect(f"ws://127.0.0.1:{port}{path}", max_size=64 * 1024 * 1024, open_timeout=TIMEOUT_S)
        )

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self._profile, ignore_errors=True)

    # --- DevTools protocol ------------------------------------------------------------

    def _send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._socket.send(json.dumps(message))
        return self._next_id

    def _call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
              events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        wanted = self._send(method, params, session)
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            message = json.loads(self._socket.recv(timeout=max(deadline - time.monotonic(), 0.01)))
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if events is not None and "method" in message:
                events.append(message)

    def _wait_for(self, event: str, events: list[dict[str, Any]], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == event for e in events):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {event} within {timeout} s")
            try:
                events.append(json.loads(self._socket.recv(timeout=remaining)))
            except TimeoutError:
                continue

    def _drain(self, events: list[dict[str, Any]], quiet_s: float) -> None:
        while True:
            try:
                events.append(json.loads(self._socket.recv(timeout=quiet_s)))
            except TimeoutError:
                return

    def visit(self, path: Path, *, screenshot: bool = True, script: str | None = None) -> PageVisit:
        """Load ``path`` from file://, record what happened, optionally run ``script``."""
        url = path.resolve().as_uri()
        events: list[dict[str, Any]] = []
        target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        try:
            for domain in ("Page", "Runtime", "Log", "Network"):
                self._call(f"{domain}.enable", session=session, events=events)
            self._call("Emulation.setDeviceMetricsOverride",
                       {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False},
                       session=session, events=events)
            events.clear()
            self._call("Page.navigate", {"url": url}, session=session, events=events)
            self._wait_for("Page.loadEventFired", events, TIMEOUT_S)
            self._drain(events, 0.3)
            visit = PageVisit(url)
            if script:
                self._call("Runtime.evaluate", {"expression": script}, session=session, events=events)
                self._drain(events, 0.2)
            for event in events:
                self._observe(event, visit)
            text = self._call("Runtime.evaluate", {"expression": "document.body.innerText", "returnByValue": True},
                              session=session, events=events)
            visit.text = text["result"].get("value", "")
            if screenshot:
                shot = self._call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                                  session=session, events=events)
                visit.screenshot_png = base64.b64decode(shot["data"])
            for event in events:  # late events
                self._observe(event, visit, seen_only=True)
            return visit
        finally:
            self._call("Target.closeTarget", {"targetId": target})

    def evaluate(self, path: Path, expression: str) -> Any:
        """Load ``path`` and return the value of ``expression`` (JSON-able)."""
        events: list[dict[str, Any]] = []
        target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        try:
            self._call("Page.enable", session=session, events=events)
            self._call("Page.navigate", {"url": path.resolve().as_uri()}, session=session, events=events)
            self._wait_for("Page.loadEventFired", events, TIMEOUT_S)
            out = self._call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                             session=session, events=events)
            if "exceptionDetails" in out:
                raise RuntimeError(str(out["exceptionDetails"]))
            return out["result"].get("value")
        finally:
            self._call("Target.closeTarget", {"targetId": target})

    @staticmethod
    def _observe(event: dict[str, Any], visit: PageVisit, seen_only: bool = False) -> None:
        method = event.get("method")
        params = event.get("params", {})
        if method == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
            if url not in visit.requests:
                visit.requests.append(url)
        elif seen_only:
            return
        elif method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            visit.console_messages.append(f"{params.get('type')}: {text}")
            if params.get("type") in ("error", "assert"):
                visit.console_errors.append(text)
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            visit.console_errors.append(details.get("exception", {}).get("description") or details.get("text", "exception"))
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            if entry.get("level") == "error":
                visit.console_errors.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}".strip())

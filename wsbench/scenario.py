"""Scenarios: what load to apply, loaded from YAML and CLI options, validated once.

A scenario file and CLI options go through the same validation, so a bad value gives
the same one-line error (naming the field) wherever it came from. Pure code: reading
the file is the only I/O, in :func:`load_scenario`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from wsbench.errors import InputFileError, ScenarioError, UsageError
from wsbench.protocol.stamp import STAMP_SIZE
from wsbench.protocol.url import hide_credentials, parse_ws_url

__all__ = [
    "Target",
    "Scenario",
    "load_scenario",
    "parse_scenario",
    "parse_target",
    "redact_url",
    "redact_headers",
    "secrets_of",
    "redact_text",
    "MAX_SESSIONS",
    "MAX_DURATION_S",
]

#: Hard caps that are always in force: a run is bounded in sessions and in time.
MAX_SESSIONS = 1_000_000
MAX_DURATION_S = 7 * 24 * 3600.0

SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-api-key", "x-auth-token"}
)
_REDACTED = "***"
_TARGET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


@dataclass(frozen=True)
class Target:
    """One endpoint to measure."""

    name: str
    url: str
    #: where the calibration probe goes while this target is measured (a lab target: the
    #: reference echo behind the same proxy); None: the generator's own echo on loopback
    calibration_url: str | None = None


@dataclass(frozen=True)
class Scenario:
    """A validated load scenario. Every field has a documented default (see README)."""

    name: str = "default"
    targets: tuple[Target, ...] = ()  # empty: wsbench starts its own echo server
    sessions: int = 50
    ramp: float = 100.0  # sessions opened per second, all workers together; 0 = at once
    duration: float = 10.0  # seconds, from the first session opening
    messages: int | None = None  # per session; the run ends early when all are done
    mode: Literal["closed", "rate"] = "rate"
    rate: float = 10.0  # messages per second per session, in rate mode
    message_size: int = 32  # bytes, at least 32 (the stamp)
    message_type: Literal["text", "binary"] = "text"
    max_message_size: int = 1 << 20  # bytes: a longer message from the server is closed with 1009
    send_high_water: int = 256 << 10  # bytes a session leaves unsent before it holds messages back
    ping_interval: float | None = None  # seconds; None = no client pings
    headers: tuple[tuple[str, str], ...] = ()
    subprotocols: tuple[str, ...] = ()
    deflate: bool = False
    ca_file: str | None = None
    insecure: bool = False
    source_addresses: tuple[str, ...] = ()
    processes: int = 0  # worker processes; 0 = one per core
    shard: tuple[int, int] | None = None  # (I, N): run only sessions i % N == I; None = all
    connect_timeout: float = 10.0
    reply_timeout: float = 5.0  # closed loop: send the next message after this
    reconnect: bool = True
    transport: Literal["auto", "picows", "lean", "websockets"] = "auto"
    out: str = "reports"
    thresholds: tuple[str, ...] = ()
    calibrate: bool = True  # measure the generator against a reference echo before the load
    interleave: float | None = None  # seconds per window, targets taking turns; None: one after the other
    #: seconds per window: each lab target takes turns with its proxy's reference path under
    #: the same load (the calibration of the gate's same-load model); None: a light probe
    reference_interleave: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # keys owned by other layers

    def redacted(self) -> dict[str, Any]:
        """The scenario as a JSON-able dict with secrets replaced by ``***``."""
        data = dataclasses.asdict(self)
        data["targets"] = [
            {"name": t.name, "url": redact_url(t.url)} for t in self.targets
        ]
        data["headers"] = dict(redact_headers(self.headers))
        data["extra"] = dict(self.extra)
        data["subprotocols"] = list(self.subprotocols)
        data["source_addresses"] = list(self.source_addresses)
        data["thresholds"] = list(self.thresholds)
        data["shard"] = f"{self.shard[0]}/{self.shard[1]}" if self.shard else None
        return data


def redact_url(url: str) -> str:
    """The URL with any user:password replaced by ``***`` (never raises: a malformed URL,
    e.g. with port 99999, is hidden all the same)."""
    return hide_credentials(url)


def secrets_of(headers: tuple[tuple[str, str], ...], urls: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The secret strings of a run: credential header values (and the token after a scheme
    such as ``Bearer``), URL user:password parts. Longest first; shorter than 3 characters
    left out (hiding them would hide every such letter)."""
    found: set[str] = set()
    for name, value in headers:
        if name.lower() in SENSITIVE_HEADERS:
            found.add(value.strip())
            found.update(part for part in value.split()[1:])
    for url in urls:
        userinfo = urlsplit(url).netloc.rpartition("@")[0] if "://" in url else ""
        if userinfo:
            found.add(userinfo)
            found.update(userinfo.split(":", 1))
    return tuple(sorted((s for s in found if len(s) >= 3), key=len, reverse=True))


def redact_text(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret of ``secrets`` (see :func:`secrets_of`) replaced by ``***``."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, _REDACTED)
    return text


def redact_headers(headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Headers with the values of credentials replaced by ``***``."""
    return tuple(
        (name, _REDACTED if name.lower() in SENSITIVE_HEADERS else value)
        for name, value in headers
    )


# --- validation -------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(-?[0-9]*\.?[0-9]+)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
_OFF = {"off", "none", "false", "no", "0"}


def _seconds(name: str, value: Any, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool):
        raise ScenarioError(name, f"expected a duration like 30 or '30s', got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ScenarioError(name, f"expected a duration like 30 or '30s', got {value!r}")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise ScenarioError(name, f"expected a duration like 30 or '30s', got {value!r}")
    if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not allow_zero):
        raise ScenarioError(name, f"must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return seconds


def _integer(name: str, value: Any, *, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        else:
            raise ScenarioError(name, f"expected an integer, got {value!r}")
    if value < minimum:
        raise ScenarioError(name, f"must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ScenarioError(name, f"must be <= {maximum}, got {value}")
    return value


def _number(name: str, value: Any, *, minimum: float, strict: bool = False) -> float:
    if isinstance(value, bool):
        raise ScenarioError(name, f"expected a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ScenarioError(name, f"expected a number, got {value!r}") from None
    if not math.isfinite(number) or number < minimum or (strict and number == minimum):
        raise ScenarioError(name, f"must be {'>' if strict else '>='} {minimum:g}, got {value!r}")
    return number


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "yes", "on", "1"}:
        return True
    if isinstance(value, str) and value.lower() in {"false", "no", "off", "0"}:
        return False
    raise ScenarioError(name, f"expected true or false, got {value!r}")


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ScenarioError(name, f"expected one of {', '.join(choices)}, got {value!r}")
    return str(value)


def _strings(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ScenarioError(name, f"expected a list of strings, got {value!r}")


def _check_url(name: str, url: Any) -> str:
    if not isinstance(url, str):
        raise ScenarioError(name, f"expected a ws:// or wss:// URL, got {url!r}")
    try:
        parse_ws_url(url)
    except UsageError as exc:
        raise ScenarioError(name, str(exc)) from None
    return url


def parse_target(text: str) -> Target:
    """``NAME=URL`` (or a bare URL, named after its host and port) to a Target. A URL's own
    ``=`` (``ws://host/ws?room=1``) is not a name: a name holds no ``://``."""
    name, sep, url = text.partition("=")
    if not sep or "://" in name or "/" in name:
        url = text
        name = ""
    url = _check_url("target", url.strip())
    if not name:
        parts = urlsplit(url)
        name = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    name = name.strip()
    if not _TARGET_NAME.match(name.replace(":", "-").replace("[", "").replace("]", "")):
        raise ScenarioError("target", f"bad target name {name!r} (letters, digits, . _ -)")
    return Target(name=name, url=url)


def _targets(value: Any) -> tuple[Target, ...]:
    if isinstance(value, str):
        return (parse_target(value),)
    if isinstance(value, Mapping):
        items = [parse_target(f"{k}={v}") for k, v in value.items()]
    elif isinstance(value, (list, tuple)):
        items = []
        for entry in value:
            if isinstance(entry, Target):
                items.append(entry)
            elif isinstance(entry, str):
                items.append(parse_target(entry))
            elif isinstance(entry, Mapping) and set(entry) <= {"name", "url"} and "url" in entry:
                items.append(parse_target(f"{entry.get('name', '')}={entry['url']}"))
            else:
                raise ScenarioError("targets", f"expected NAME=URL or {{name, url}}, got {entry!r}")
    else:
        raise ScenarioError("targets", f"expected a list of targets, got {value!r}")
    names = [t.name for t in items]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ScenarioError("targets", f"duplicate target name {duplicates[0]!r}")
    return tuple(items)


def _headers(value: Any) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    if isinstance(value, Mapping):
        pairs = [(str(k), str(v)) for k, v in value.items()]
    elif isinstance(value, (list, tuple)):
        for entry in value:
            if isinstance(entry, (list, tuple)) and len(entry) == 2:
                pairs.append((str(entry[0]), str(entry[1])))
            elif isinstance(entry, str) and ":" in entry:
                name, _, val = entry.partition(":")
                pairs.append((name.strip(), val.strip()))
            else:  # never echo the value: it may be a credential (--header 'Authorization=...')
                raise ScenarioError("headers", f"expected 'Name: value' (a colon after the name), "
                                               f"got {_header_start(entry)}")
    else:
        raise ScenarioError("headers", f"expected a mapping of header names to values, got {value!r}")
    for name, val in pairs:
        if not re.match(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", name):
            raise ScenarioError("headers", f"bad header name {name!r}")
        if "\r" in val or "\n" in val or "\0" in val:
            raise ScenarioError("headers", f"header {name!r} has a line break")
    return tuple(pairs)


def _header_start(entry: Any) -> str:
    """How a malformed header entry is named in an error: its leading name characters only."""
    if not isinstance(entry, str):
        return f"a {type(entry).__name__}"
    match = re.match(r"[!#$%&'*+.^_`|~0-9A-Za-z-]*", entry)
    start = match.group(0) if match else ""
    return f"{start!r} followed by a value (not shown)" if start else "an entry without a name"


def _addresses(value: Any) -> tuple[str, ...]:
    import ipaddress  # local: only for validation

    addresses = _strings("source_addresses", value)
    for address in addresses:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ScenarioError("source_addresses", f"not an IP address: {address!r}") from None
    return addresses


def _ca_file(value: Any) -> str | None:
    if value is None:
        return None
    path = os.path.expanduser(str(value))
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise ScenarioError("ca_file", f"cannot read {value!r}")
    return path


def _ping(value: Any) -> float | None:
    if value is None or value is False or (isinstance(value, str) and value.lower() in _OFF):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
        return None
    return _seconds("ping_interval", value)


_SHARD = re.compile(r"^\s*([0-9]+)\s*/\s*([0-9]+)\s*$")


def _shard(value: Any) -> tuple[int, int] | None:
    """``I/N``: run the sessions ``i % N == I``; I counts from 0 (Kubernetes' JOB_COMPLETION_INDEX)."""
    if value is None:
        return None
    match = _SHARD.match(value) if isinstance(value, str) else None
    if match is None:
        raise ScenarioError("shard", f"expected I/N with 0 <= I < N, e.g. 0/3, got {value!r}")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1:
        raise ScenarioError("shard", f"N must be >= 1, got {value!r}")
    if index >= count:
        raise ScenarioError("shard", f"I must be < N (I counts from 0, like JOB_COMPLETION_INDEX), got {value!r}")
    return index, count


def _thresholds(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ScenarioError("thresholds", f"expected a list of expressions, got {value!r}")


#: key -> validator. The table is the list of known keys.
_FIELDS: dict[str, Any] = {
    "name": lambda v: str(v),
    "targets": _targets,
    "sessions": lambda v: _integer("sessions", v, minimum=1, maximum=MAX_SESSIONS),
    "ramp": lambda v: _number("ramp", v, minimum=0),
    "duration": lambda v: min(_seconds("duration", v), MAX_DURATION_S),
    "messages": lambda v: None if v is None else _integer("messages", v, minimum=0),
    "mode": lambda v: _choice("mode", v, ("closed", "rate")),
    "rate": lambda v: _number("rate", v, minimum=0, strict=True),
    "message_size": lambda v: _integer("message_size", v, minimum=STAMP_SIZE, maximum=64 * 2**20),
    "message_type": lambda v: _choice("message_type", v, ("text", "binary")),
    "max_message_size": lambda v: _integer("max_message_size", v, minimum=125, maximum=1 << 30),
    "send_high_water": lambda v: _integer("send_high_water", v, minimum=0, maximum=1 << 30),
    "ping_interval": _ping,
    "headers": _headers,
    "subprotocols": lambda v: _strings("subprotocols", v),
    "deflate": lambda v: _boolean("deflate", v),
    "ca_file": _ca_file,
    "insecure": lambda v: _boolean("insecure", v),
    "source_addresses": _addresses,
    "processes": lambda v: _integer("processes", v, minimum=0, maximum=256),
    "shard": _shard,
    "connect_timeout": lambda v: _seconds("connect_timeout", v),
    "reply_timeout": lambda v: _seconds("reply_timeout", v),
    "reconnect": lambda v: _boolean("reconnect", v),
    "transport": lambda v: _choice("transport", v, ("auto", "picows", "lean", "websockets")),
    "out": lambda v: str(v),
    "thresholds": _thresholds,
    "calibrate": lambda v: _boolean("calibrate", v),
    "interleave": lambda v: None if v is None else _seconds("interleave", v),
    "reference_interleave": lambda v: None if v is None else _seconds("reference_interleave", v),
}
#: Keys other layers own (validated there), carried in ``Scenario.extra``.
EXTRA_KEYS = frozenset({"lab", "disruptions", "gate"})


def parse_scenario(data: Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Validate a scenario mapping (from YAML) with CLI ``overrides`` on top."""
    if not isinstance(data, Mapping):
        raise ScenarioError("scenario", f"expected a mapping of keys to values, got {type(data).__name__}")
    merged: dict[str, Any] = {}
    for source in (data, overrides or {}):
        for key, value in source.items():
            norm = str(key).replace("-", "_")
            if norm not in _FIELDS and norm not in EXTRA_KEYS:
                raise ScenarioError(str(key), "unknown scenario key")
            merged[norm] = value
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in merged.items():
        if key in EXTRA_KEYS:
            extra[key] = value
        else:
            values[key] = _FIELDS[key](value)
    if "max_message_size" not in values and values.get("message_size", 0) > Scenario.max_message_size:
        values["max_message_size"] = values["message_size"]  # the echo of a large message fits
    scenario = Scenario(**values, extra=extra)
    if scenario.insecure and scenario.ca_file:
        raise ScenarioError("insecure", "insecure and ca_file exclude each other")
    if scenario.shard and scenario.shard[1] > scenario.sessions:
        raise ScenarioError("shard", f"{scenario.shard[1]} shards for {scenario.sessions} sessions: "
                                     "every shard needs at least one session")
    if scenario.max_message_size < scenario.message_size:
        raise ScenarioError("max_message_size", f"{scenario.max_message_size} is below message_size "
                                                f"{scenario.message_size}: every echo would be refused")
    if scenario.reference_interleave and scenario.interleave:
        raise ScenarioError("reference_interleave", "give either interleave (targets take turns with each "
                                                    "other) or reference_interleave (each with its reference)")
    if scenario.reference_interleave and not scenario.calibrate:
        raise ScenarioError("reference_interleave", "the reference windows are the calibration: "
                                                    "drop calibrate: false (--no-calibrate)")
    if scenario.deflate and scenario.transport in ("picows", "lean"):
        raise ScenarioError(
            "transport", f"{scenario.transport} cannot do permessage-deflate: use auto or websockets"
        )
    return scenario


#: A scenario file is small: larger files, and YAML whose aliases expand past the node
#: bound (a "billion laughs" file), are refused before anything is built from them.
MAX_SCENARIO_BYTES = 1 << 20
MAX_SCENARIO_NODES = 100_000


def _yaml_load(text: str) -> Any:
    """``text`` parsed by a SafeLoader that refuses an alias expanding past
    :data:`MAX_SCENARIO_NODES` nodes (yaml is imported here: only a run from a file needs it)."""
    import yaml

    class _ScenarioLoader(yaml.SafeLoader):
        """SafeLoader that refuses an alias expanding past :data:`MAX_SCENARIO_NODES` nodes."""

        def compose_document(self) -> Any:
            node = super().compose_document()
            sizes: dict[int, int] = {}

            def size(item: Any, depth: int) -> int:  # nodes once aliases are expanded (memoised)
                known = sizes.get(id(item))
                if known is not None:
                    return known
                if depth > 200:
                    raise yaml.YAMLError("nested too deeply")
                sizes[id(item)] = MAX_SCENARIO_NODES + 1  # a cycle (an alias inside itself) is too big
                total = 1
                if isinstance(item.value, list):
                    for child in item.value:
                        total += sum(size(part, depth + 1) for part in child) if isinstance(child, tuple) \
                            else size(child, depth + 1)
                        if total > MAX_SCENARIO_NODES:
                            break
                sizes[id(item)] = total
                return total

            if node is not None and size(node, 0) > MAX_SCENARIO_NODES:
                raise yaml.YAMLError(f"aliases expand past {MAX_SCENARIO_NODES} values")
            return node

    try:
        return yaml.load(text, Loader=_ScenarioLoader)  # noqa: S506 - a SafeLoader, bounded
    except yaml.YAMLError as exc:
        raise _BadYaml(exc) from None


class _BadYaml(Exception):
    """A ``yaml.YAMLError`` from :func:`_yaml_load`, carried out to :func:`load_scenario`."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def load_scenario(path: str | None, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Read a scenario file (YAML) or the defaults when ``path`` is None."""
    data: Any = {}
    if path is not None and not os.path.exists(path):
        from wsbench.bundled import find_bundled  # a bundled example, by name: closed-loop

        path = str(find_bundled(path) or path)
    if path is not None:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read(MAX_SCENARIO_BYTES + 1)
            if len(text) > MAX_SCENARIO_BYTES:
                raise InputFileError(f"{path}: larger than {MAX_SCENARIO_BYTES // 1024} KiB: not a scenario")
            if "\0" in text:
                raise InputFileError(f"{path}: a binary file, not a YAML scenario")
            data = _yaml_load(text)
        except UnicodeDecodeError:
            raise InputFileError(f"{path}: not a text file (UTF-8): not a YAML scenario") from None
        except RecursionError:
            raise InputFileError(f"{path}: nested too deeply to be a scenario") from None
        except OSError as exc:
            from wsbench.bundled import bundled_scenarios

            bare = os.sep not in path and not path.endswith((".yaml", ".yml"))  # meant a bundled one?
            names = f"; bundled scenarios: {', '.join(bundled_scenarios()) or 'none found'}" if bare else ""
            raise InputFileError(f"{path}: cannot read scenario ({exc.strerror}){names}") from exc
        except _BadYaml as bad:
            mark = getattr(bad.error, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            why = "" if mark is not None else f" ({bad.error})"
            raise InputFileError(f"{path}:{where} not valid YAML{why}") from None
        if data is None:
            data = {}
    return parse_scenario(data, overrides)

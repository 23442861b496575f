"""The one ws:// URL parser (wsbench/protocol/url.py) and the three places that use it."""

from __future__ import annotations

import pytest

from wsbench.conform.connection import Target
from wsbench.engine.contracts import ConnectSettings
from wsbench.errors import ScenarioError, UsageError
from wsbench.protocol.url import WsUrl, hide_credentials, parse_ws_url
from wsbench.scenario import Scenario, parse_scenario


@pytest.mark.parametrize(("url", "expected"), [
    ("ws://127.0.0.1:8080/echo?x=1", WsUrl("ws://127.0.0.1:8080/echo?x=1", False, "127.0.0.1", 8080,
                                           "/echo?x=1", True)),
    ("wss://example.test", WsUrl("wss://example.test", True, "example.test", 443, "/", False)),
    ("ws://[::1]/", WsUrl("ws://[::1]/", False, "::1", 80, "/", True)),
    ("ws://u:p@Example.TEST:81/a", WsUrl("ws://u:p@Example.TEST:81/a", False, "example.test", 81, "/a",
                                          False)),
])
def test_good_urls(url, expected):
    assert parse_ws_url(url) == expected == WsUrl.parse(url)


@pytest.mark.parametrize(("url", "host_header"), [
    ("ws://h/", "h"), ("ws://h:80/", "h"), ("ws://h:443/", "h:443"), ("wss://h:443/", "h"),
    ("ws://[::1]:8080/", "[::1]:8080"), ("wss://[::1]/", "[::1]"),
])
def test_the_host_header_brackets_ipv6_and_drops_the_default_port(url, host_header):
    assert parse_ws_url(url).host_header == host_header


@pytest.mark.parametrize(("url", "message"), [
    ("ws://[::1/ws", "malformed URL 'ws://[::1/ws': Invalid IPv6 URL"),
    ("ws://127.0.0.1:99999/", "bad port in 'ws://127.0.0.1:99999/'"),
    ("ws://h:port/", "bad port in 'ws://h:port/'"),
    ("ws://h:0/", "port 0 in 'ws://h:0/'"),
    ("ws://:80/", "no host in 'ws://:80/'"),
    ("http://h/", "expected a ws:// or wss:// URL, got 'http://h/'"),
    ("h:80", "expected a ws:// or wss:// URL, got 'h:80'"),
    ("wss://user:secret@h:99999/", "bad port in 'wss://***@h:99999/'"),
    ("ws://h:1/a\nb", None),  # urlsplit drops the line break: a good URL
])
def test_bad_urls_are_one_line_usage_errors_everywhere(url, message):
    if message is None:
        parse_ws_url(url)
        return
    seen = []
    for parse in (parse_ws_url, Target.parse, lambda u: ConnectSettings.of(Scenario(), u)):
        with pytest.raises(UsageError) as info:
            parse(url)
        seen.append(str(info.value))
    with pytest.raises(ScenarioError) as info:
        parse_scenario({"targets": [url]})
    seen.append(str(info.value).removeprefix("target: "))
    assert seen == [message] * 4
    assert "\n" not in message and "secret" not in message


def test_conform_target_keeps_its_fields():
    target = Target.parse("wss://[::1]:8443/path?q")
    assert (target.secure, target.host, target.port, target.resource, target.host_header) == (
        True, "::1", 8443, "/path?q", "[::1]:8443")


def test_hide_credentials_never_parses():
    assert hide_credentials("ws://a:b@[::1/x") == "ws://***@[::1/x"
    assert hide_credentials("ws://h/p@q") == "ws://h/p@q"

"""wsbench checks: wsbench's own rules, stricter than Autobahn|Testsuite's, kept apart (pure).

A case's verdict is Autobahn's and nothing here changes it. Next to it, a case may
carry wsbench checks, each named, with a verdict of its own (OK, NON-STRICT or FAILED)
and a reason. These are all of them (the README lists the same):

* ``server-frames`` (every case): every frame the server sent keeps RFC 6455 as
  wsbench reads it: minimal length encoding, no mask, valid UTF-8, a close code that
  RFC 6455 7.4 or the IANA registry allows (1012-1014 included), nothing after its
  close frame. Autobahn fails such a connection too, but names no rule.
* ``deflate-offer`` (12.x, 13.x): a server that accepts an offer echoes what the offer
  requested (``server_no_context_takeover``, ``server_max_window_bits``; RFC 7692
  7.1.1.1, 7.1.2.1); NON-STRICT when it leaves one out. Autobahn accepts any answer.
* ``echo-content`` (9.x): the echo is byte for byte what was sent; Autobahn checks
  only the type and the length.
* ``close-1012``, ``close-1013``, ``close-1014`` (own connections, with 7.7.x): a close
  with the codes IANA registered after RFC 6455 (service restart, try again later,
  bad gateway) is answered like 7.7.x (clean, 1000 or the same code); Autobahn's 7.7.x
  do not send them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wsbench.conform.cases._build import case, kill_after, ok
from wsbench.conform.model import NORMAL, Case, CloseExpectation, SendClose, Verdict

__all__ = ["CHECKS", "CheckResult", "case_checks", "close_code_probes", "PROBE_GROUP_PATTERN"]

CHECKS: dict[str, str] = {
    "server-frames": "every frame the server sent keeps RFC 6455 (strict reading, close codes "
                     "per the IANA registry)",
    "deflate-offer": "an accepted permessage-deflate offer's requests are echoed (RFC 7692 7.1)",
    "echo-content": "the echo is byte for byte what was sent (Autobahn checks type and length)",
    "close-1012": "close code 1012 (service restart, IANA) is answered cleanly",
    "close-1013": "close code 1013 (try again later, IANA) is answered cleanly",
    "close-1014": "close code 1014 (bad gateway, IANA) is answered cleanly",
}

#: the probes run when a case matching this is selected
PROBE_GROUP_PATTERN = "7.7."


@dataclass(frozen=True)
class CheckResult:
    verdict: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "reason": self.reason}


def case_checks(case: Case, *, problems: Sequence[str], ignored: Sequence[str] = (),
                agreed: bool = False, content_ok: bool | None = None) -> dict[str, CheckResult]:
    """The wsbench checks of one Autobahn case from what its connection saw."""
    checks: dict[str, CheckResult] = {}
    if problems:
        shown = "; ".join(dict.fromkeys(problems))
        checks["server-frames"] = CheckResult(Verdict.FAILED, f"the server broke RFC 6455: {shown}")
    else:
        checks["server-frames"] = CheckResult(Verdict.OK, "every frame kept RFC 6455")
    if case.deflate and agreed:
        if ignored:
            checks["deflate-offer"] = CheckResult(
                Verdict.NON_STRICT, f"the server accepted permessage-deflate without the requested "
                f"{', '.join(ignored)} (RFC 7692 7.1.1.1/7.1.2.1: it must echo a request it accepts)")
        else:
            checks["deflate-offer"] = CheckResult(Verdict.OK, "the answer honours the offer")
    if content_ok is not None:
        checks["echo-content"] = CheckResult(
            Verdict.OK if content_ok else Verdict.FAILED,
            "the echo is what was sent" if content_ok else "the echo has the right length but "
            "other content")
    return checks


def close_code_probes() -> list[Case]:
    """The ``close-101x`` checks as cases of their own (judged like 7.7.x)."""
    return [case(
        f"wsbench.close-{code}", "Close Handling", f"Send close with close code {code} "
        "(registered by IANA after RFC 6455).", "Clean close with normal or echoed code.",
        [SendClose(code), kill_after(1)], ok(),
        CloseExpectation(by_client=True, codes=(NORMAL, code), require_clean=True,
                         wrong_code_fatal=True, close_on_match=False),
        src="case7_7_X.py") for code in (1012, 1013, 1014)]

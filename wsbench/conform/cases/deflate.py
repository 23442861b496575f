"""Groups 12 and 13: permessage-deflate (RFC 7692), Autobahn cases 12.1.1-13.7.18.

Every case offers permessage-deflate in the upgrade, then sends ``count`` compressed
messages of one size, each after the previous echo, cut one after another from a
data set (:mod:`wsbench.conform.cases.testdata`), and checks every echo byte for
byte. A server that accepts no offer makes the case UNIMPLEMENTED.

* 12.N.x: the five data sets, with Autobahn's default offer.
* 13.N.x: the JSON data set, with the seven parameter offers Autobahn makes
  (no context takeover, window bits 9 and 15, and a list of three offers). Autobahn
  asked for 8 until zlib stopped compressing with a 256-byte window (autobahn-python
  issue #1477, 2021); it asks for 9 since.

As Autobahn's client (``case12_x_x.py``), wsbench accepts any valid permessage-deflate
answer; whether the answer honours what the offer requested is the wsbench check
``deflate-offer``. Each echo is judged by type, length and content, the whole case
within Autobahn's time limit (60-480 s by size).

Each subgroup has Autobahn's 18 (size, fragment) pairs; ``scale`` multiplies the
message count (Autobahn: 1000 per case), never the sizes.
"""

from __future__ import annotations

from wsbench.conform.cases._build import ECHO_THEN_CLOSE, case, ok
from wsbench.conform.cases.testdata import DATA_SETS
from wsbench.conform.model import Blob, Case, EchoLoop, Event
from wsbench.protocol.deflate import DeflateOffer

__all__ = ["compression_payloads", "compression_parameters", "MESSAGE_SIZES", "PARAMETER_OFFERS"]

#: (payload size, auto-fragment size or 0), Autobahn's MSG_SIZES; 1000 messages each
MESSAGE_SIZES: tuple[tuple[int, int], ...] = (
    (16, 0), (64, 0), (256, 0), (1024, 0), (4096, 0), (8192, 0), (16384, 0), (32768, 0),
    (65536, 0), (131072, 0),
    (8192, 256), (16384, 256), (32768, 256), (65536, 256), (131072, 256),
    (131072, 1024), (131072, 4096), (131072, 32768),
)
_COUNT = 1000
#: Autobahn's case time limit (s) for each of MESSAGE_SIZES
_WAIT = (60, 60, 120, 240, 480, 480, 480, 480, 480, 480, 480, 480, 480, 480, 480, 480, 480, 480)

_offer = DeflateOffer.autobahn
#: 13.1-13.7: Autobahn's DEFLATE_PARAMS (case12_x_x.py), window bits 9 where it had 8
PARAMETER_OFFERS: tuple[tuple[DeflateOffer, ...], ...] = (
    (_offer(),),
    (_offer(request_no_context_takeover=True),),
    (_offer(request_max_window_bits=9),),
    (_offer(request_max_window_bits=15),),
    (_offer(request_no_context_takeover=True, request_max_window_bits=9),),
    (_offer(request_no_context_takeover=True, request_max_window_bits=15),),
    (_offer(request_no_context_takeover=True, request_max_window_bits=9),
     _offer(request_no_context_takeover=True), _offer()),
)


def _count(scale: float) -> int:
    return max(1, int(_COUNT * scale))


def _cases(prefix: str, group: str, data_set: str, offers: tuple[DeflateOffer, ...],
           scale: float, offer_text: str) -> list[Case]:
    spec = DATA_SETS[data_set]
    kind = "binary" if spec.binary else "text"
    count = _count(scale)
    cases = []
    for index, (size, fragment) in enumerate(MESSAGE_SIZES, start=1):
        description = (f"Send {count} compressed {kind} messages each of payload size {size}, "
                       f"auto-fragment to {fragment} octets, from the data set '{spec.name}' "
                       f"({spec.description}). {offer_text}")
        cases.append(case(
            f"{prefix}.{index}", group, description,
            "Receive echo'ed messages (with payload as sent); UNIMPLEMENTED when the server "
            "accepts no permessage-deflate offer. Clean close with normal code.",
            [EchoLoop(count, Blob(b"-", size), binary=spec.binary, data_set=data_set,
                      fragment_size=fragment or None, seconds=_WAIT[index - 1],
                      compare_content=True)],
            ok(Event("echoes", Blob.of(b"%d" % count))), ECHO_THEN_CLOSE,
            timed=True, deflate=offers, src="case12_x_x.py"))
    return cases


def compression_payloads(scale: float = 1.0) -> list[Case]:
    """12.1.x-12.5.x: each data set with the default offer."""
    offers = PARAMETER_OFFERS[0]
    text = f"Offer: {offers[0].header_value()}."
    cases = []
    for sub, name in enumerate(DATA_SETS, start=1):
        cases += _cases(f"12.{sub}", "WebSocket Compression (payloads)", name, offers, scale, text)
    return cases


def compression_parameters(scale: float = 1.0) -> list[Case]:
    """13.1.x-13.7.x: the JSON data set with each of Autobahn's parameter offers."""
    cases = []
    for sub, offers in enumerate(PARAMETER_OFFERS, start=1):
        text = "Offers: " + ", ".join(f"[{o.header_value()}]" for o in offers) + "."
        cases += _cases(f"13.{sub}", "WebSocket Compression (parameters)", "json", offers, scale,
                        text)
    return cases

"""permessage-deflate (RFC 7692): the client's offers, the check of the server's answer,
and the per-message codec.

Pure code: zlib compresses in memory and does no I/O. The negotiation is strict about
what a *server* may answer (RFC 7692 sections 5 and 7.1) and raises
:class:`NegotiationError` naming the first rule broken; the codec is a
:class:`Deflater` for the messages wsbench sends and an :class:`Inflater` for those it
receives, each honouring the agreed window size and context takeover.

The four parameters, from the client's side:

* ``server_no_context_takeover`` — ask the server to reset its compressor after
  every message; a server that accepts must echo it.
* ``client_no_context_takeover`` — tell the server that wsbench resets its own
  compressor after every message (a hint; the server may also demand it).
* ``server_max_window_bits=N`` — ask the server to use an LZ77 window of at most
  2**N bytes; a server that accepts answers with the same or a smaller value.
* ``client_max_window_bits[=N]`` — allow the server to limit wsbench's window
  (without a value), or announce wsbench's own limit.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from wsbench.errors import RemoteProtocolError

__all__ = [
    "EXTENSION",
    "DeflateOffer",
    "DeflateAgreement",
    "NegotiationError",
    "Deflater",
    "Inflater",
    "offer_header",
    "parse_agreement",
]

EXTENSION = "permessage-deflate"
_TAIL = b"\x00\x00\xff\xff"
_BITS = re.compile(r"^(8|9|1[0-5])$")  # RFC 7692 7.1.2: 8-15, no leading zeros
_KNOWN = ("server_no_context_takeover", "client_no_context_takeover",
          "server_max_window_bits", "client_max_window_bits")


class NegotiationError(RemoteProtocolError):
    """The server's ``Sec-WebSocket-Extensions`` answer breaks RFC 7692."""


@dataclass(frozen=True)
class DeflateOffer:
    """One permessage-deflate offer. ``client_max_window_bits``: False leaves it out,
    True sends it without a value (the server may pick our window), an int sends it with one."""

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int | None = None
    client_max_window_bits: bool | int = False

    def __post_init__(self) -> None:
        bits = [self.server_max_window_bits]
        if not isinstance(self.client_max_window_bits, bool):
            bits.append(self.client_max_window_bits)
        for value in bits:
            if value is not None and not 8 <= value <= 15:
                raise ValueError(f"window bits are 8-15, got {value}")

    @classmethod
    def autobahn(cls, *, request_no_context_takeover: bool = False,
                 request_max_window_bits: int = 0) -> DeflateOffer:
        """Autobahn|Testsuite's ``PerMessageDeflateOffer``: it always accepts a server's
        ``client_no_context_takeover`` and ``client_max_window_bits`` and may request
        ``server_no_context_takeover`` / ``server_max_window_bits``."""
        return cls(server_no_context_takeover=request_no_context_takeover,
                   client_no_context_takeover=True,
                   server_max_window_bits=request_max_window_bits or None,
                   client_max_window_bits=True)

    def header_value(self) -> str:
        parts = [EXTENSION]
        if self.client_no_context_takeover:
            parts.append("client_no_context_takeover")
        if self.client_max_window_bits is True:
            parts.append("client_max_window_bits")
        elif self.client_max_window_bits is not False:
            parts.append(f"client_max_window_bits={self.client_max_window_bits}")
        if self.server_no_context_takeover:
            parts.append("server_no_context_takeover")
        if self.server_max_window_bits is not None:
            parts.append(f"server_max_window_bits={self.server_max_window_bits}")
        return "; ".join(parts)


@dataclass(frozen=True)
class DeflateAgreement:
    """What an accepted offer settled: each side's window and context takeover."""

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int = 15
    client_max_window_bits: int = 15
    #: the server's answer as it was sent
    response: str = EXTENSION
    #: what the offer requested and the answer left out (the server then does not honour it)
    ignored: tuple[str, ...] = ()

    def describe(self) -> str:
        def side(name: str, reset: bool, bits: int) -> str:
            return f"{name} window 2^{bits}" + (", no context takeover" if reset else "")

        return "; ".join([side("server", self.server_no_context_takeover, self.server_max_window_bits),
                          side("client", self.client_no_context_takeover, self.client_max_window_bits)])


def offer_header(offers: Sequence[DeflateOffer]) -> str:
    """The ``Sec-WebSocket-Extensions`` value for ``offers``, in preference order."""
    return ", ".join(offer.header_value() for offer in offers)


def _split(value: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Extension elements with their parameters, keeping duplicates (to reject them)."""
    elements = []
    for item in value.split(","):
        tokens = [t.strip() for t in item.split(";")]
        if not tokens[0]:
            if any(tokens):
                raise NegotiationError(f"extension element without a name: {item.strip()!r}")
            continue
        params = []
        for token in tokens[1:]:
            name, sep, raw = token.partition("=")
            raw = raw.strip()
            if len(raw) >= 2 and raw[0] == raw[-1] == '"':
                raw = raw[1:-1]
            params.append((name.strip().lower(), raw if sep else None))
        elements.append((tokens[0].lower(), params))
    return elements


def _answer(offer: DeflateOffer, params: dict[str, str | None], raw: str) -> DeflateAgreement:
    """The agreement if ``params`` answers ``offer``; NegotiationError if it cannot.

    A request the answer leaves out (``server_no_context_takeover``, or a smaller
    ``server_max_window_bits``) is not an error: the answer still describes a
    configuration wsbench supports (RFC 7692 section 7.1), so the client need not fail;
    it is recorded in :attr:`DeflateAgreement.ignored` instead.
    """
    for flag in ("server_no_context_takeover", "client_no_context_takeover"):
        if flag in params and params[flag] is not None:
            raise NegotiationError(f"{flag} has a value ({params[flag]!r}); it must have none")
    bits: dict[str, int] = {}
    for name in ("server_max_window_bits", "client_max_window_bits"):
        if name in params:
            value = params[name]
            if value is None or not _BITS.match(value):
                raise NegotiationError(f"{name}={value} is not an integer 8-15")
            bits[name] = int(value)
    ignored = []
    if offer.server_no_context_takeover and "server_no_context_takeover" not in params:
        ignored.append("server_no_context_takeover")
    requested = offer.server_max_window_bits
    if requested is not None:
        answered = bits.get("server_max_window_bits", 15)  # no value means 15
        if "server_max_window_bits" in bits and answered > requested:
            raise NegotiationError(f"server_max_window_bits={answered} is larger than the "
                                   f"{requested} requested")
        if answered > requested:
            ignored.append(f"server_max_window_bits={requested}")
    if "client_max_window_bits" in bits:
        if offer.client_max_window_bits is False:
            raise NegotiationError("client_max_window_bits in the answer, but the offer "
                                   "did not allow it")
        limit = offer.client_max_window_bits
        if limit is not True and bits["client_max_window_bits"] > limit:
            raise NegotiationError(f"client_max_window_bits={bits['client_max_window_bits']} "
                                   f"is larger than the offer's {limit}")
    own_limit = offer.client_max_window_bits
    client_bits = bits.get("client_max_window_bits",
                           own_limit if not isinstance(own_limit, bool) else 15)
    return DeflateAgreement(
        server_no_context_takeover="server_no_context_takeover" in params,
        client_no_context_takeover=("client_no_context_takeover" in params
                                    or offer.client_no_context_takeover),
        server_max_window_bits=bits.get("server_max_window_bits", 15),
        client_max_window_bits=client_bits,
        response=raw,
        ignored=tuple(ignored))


def parse_agreement(offers: Sequence[DeflateOffer], header: str | None) -> DeflateAgreement | None:
    """The agreement in the server's ``Sec-WebSocket-Extensions`` answer to ``offers``.

    None when the server declined (no permessage-deflate in its answer). Raises
    NegotiationError when the answer breaks RFC 7692: an extension that was not
    offered, permessage-deflate twice, an unknown or repeated parameter, a bad value,
    or parameters that answer none of the offers. Of several offers, the first one
    the answer fully honours wins, else the first it answers at all.
    """
    elements = _split(header or "")
    if not elements:
        return None
    for name, _ in elements:
        if name != EXTENSION or not offers:
            raise NegotiationError(f"the server accepted extension {name!r}, which was not offered")
    if len(elements) > 1:
        raise NegotiationError("permessage-deflate appears more than once in the answer")
    _, pairs = elements[0]
    params: dict[str, str | None] = {}
    for name, value in pairs:
        if name not in _KNOWN:
            raise NegotiationError(f"unknown permessage-deflate parameter {name!r}")
        if name in params:
            raise NegotiationError(f"parameter {name} appears twice")
        params[name] = value
    raw = (header or "").strip()
    problems = []
    answers = []
    for offer in offers:
        try:
            answers.append(_answer(offer, params, raw))
        except NegotiationError as exc:
            problems.append(str(exc))
    if answers:
        return next((a for a in answers if not a.ignored), answers[0])
    if len(problems) == 1:
        raise NegotiationError(problems[0])
    raise NegotiationError("the answer fits none of the offers: " + " / ".join(problems))


class Deflater:
    """Compresses the messages wsbench sends (RFC 7692 section 7.2.1).

    zlib cannot compress with a 2^8 window; for ``client_max_window_bits=8`` the
    deflater emits Huffman-only blocks, which hold no back-references at all and so
    are valid for any window size.
    """

    def __init__(self, *, window_bits: int = 15, no_context_takeover: bool = False,
                 level: int = 6) -> None:
        if not 8 <= window_bits <= 15:
            raise ValueError(f"window bits are 8-15, got {window_bits}")
        self._bits = window_bits
        self._reset = no_context_takeover
        self._level = level
        self._compressor = self._new()

    def _new(self) -> zlib._Compress:
        if self._bits == 8:
            return zlib.compressobj(self._level, zlib.DEFLATED, -9, 8, zlib.Z_HUFFMAN_ONLY)
        return zlib.compressobj(self._level, zlib.DEFLATED, -self._bits)

    def compress(self, payload: bytes) -> bytes:
        """The compressed payload of one message (the trailing 00 00 ff ff removed)."""
        data = self._compressor.compress(payload) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
        if self._reset:
            self._compressor = self._new()
        if not data.endswith(_TAIL):  # pragma: no cover - zlib always ends a sync flush so
            raise AssertionError("zlib sync flush did not end with 00 00 ff ff")
        return data[:-4]


class Inflater:
    """Decompresses the messages the server sends, frame by frame (for fail-fast UTF-8).

    ``max_size`` bounds a decompressed message (a compression bomb fails the
    message instead of the machine). zlib keeps only the agreed window between
    messages, so a server that refers further back into an earlier message than it
    agreed to fails with "invalid distance too far back" (within one message zlib
    cannot tell).
    """

    def __init__(self, *, window_bits: int = 15, no_context_takeover: bool = False,
                 max_size: int = 1 << 30) -> None:
        if not 8 <= window_bits <= 15:
            raise ValueError(f"window bits are 8-15, got {window_bits}")
        self._bits = window_bits
        self._reset = no_context_takeover
        self._max_size = max_size
        self._decompressor = zlib.decompressobj(-window_bits)
        self._size = 0

    def feed(self, data: bytes, *, fin: bool) -> bytes:
        """The plain bytes of the next piece of a compressed message; ``fin`` ends it.

        Raises zlib.error for corrupt data and ValueError for a message above ``max_size``.
        """
        if fin:
            data += _TAIL
        out = self._decompressor.decompress(data, self._max_size - self._size + 1)
        self._size += len(out)
        if self._size > self._max_size or self._decompressor.unconsumed_tail:
            raise ValueError(f"decompressed message exceeds {self._max_size} bytes")
        if fin:
            self._size = 0
            if self._reset or self._decompressor.eof:
                # a final block (BFINAL) ends the sender's stream: its next message starts anew
                self._decompressor = zlib.decompressobj(-self._bits)
        return out

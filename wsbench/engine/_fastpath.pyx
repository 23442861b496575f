# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The picows listener with the closed-loop hot path compiled (optional C extension).

picows dispatches ``on_ws_frame`` through its C vtable: a listener written in Cython is
called without a Python frame, reads the payload through picows' pointer, parses the
stamp's sequence number and writes the next stamp in C into a buffer of its own, which
picows frames and masks in place (``send_reuse_external_buffer``: no bytes object per
message). Everything else — and every message off the common path (a duplicate, an
unmatched reply, a session finishing, ``rate`` mode, fragments) — goes to
``Session.on_message`` exactly like the pure-Python listener in ``transports.py``, which
is the fallback when this module is not built.

The closed-loop fast path is ``Session.on_message`` + ``Session.send_next`` for the case
"closed loop, not finishing, the reply matches the one outstanding seq": same counters
(the Recorder's, updated at every reply), same stamp bytes (``wsbench.protocol.stamp``).
While on it the listener holds the session's closed-loop state as C fields — a *lease*:
``next_seq``, ``max_seq``, ``messages_left``, ``last_send_ns`` and the outstanding
``(seq, scheduled)`` (taken out of ``Session.outstanding``) — and writes them back
(:meth:`FastListener.release`) before anything else reads or changes them: a message off
the fast path, the session finishing, the disconnect, and every Session method that reads
them from outside (``check_reply_timeout``, ``finish``, ``on_disconnect``: the ``sync``
callable ``Session.on_open`` gets). tests/engine/test_fastpath.py checks both listeners
give the same figures on the same runs, and the stamp bytes against ``stamp_factory``.
Measured in bench/bench_engine.py.
"""

from cpython.bytearray cimport PyByteArray_AS_STRING
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.stdint cimport int64_t, uint64_t
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec

from picows.picows cimport WSFrame, WSListener, WSMsgType, WSTransport

#: The listener's contract with transports.py; a build older than it is not used (stale .so)
LISTENER_VERSION = 3

cdef const char* _HEX = b"0123456789abcdef"
cdef Py_ssize_t _STAMP_SIZE = 32
#: room for picows' frame header (2 + 8 length + 4 mask) in front of a message sent in place
cdef Py_ssize_t _HEADROOM = 14


cdef inline int64_t _now_ns() noexcept nogil:
    # the clock behind time.monotonic_ns() on Linux
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return <int64_t>ts.tv_sec * 1000000000 + ts.tv_nsec


cdef inline int64_t _parse_seq(const char* p) noexcept nogil:
    """The 16 lowercase hex digits of a stamp's seq; -1 if they are not that."""
    cdef uint64_t value = 0
    cdef int i
    cdef char c
    for i in range(16):
        c = p[i]
        if c'0' <= c <= c'9':
            value = (value << 4) | <uint64_t>(c - c'0')
        elif c'a' <= c <= c'f':
            value = (value << 4) | <uint64_t>(c - c'a' + 10)
        else:
            return -1
    if value >> 63:
        return -1
    return <int64_t>value


cdef inline void _put_hex(char* p, uint64_t value) noexcept nogil:
    cdef int i
    for i in range(15, -1, -1):
        p[i] = _HEX[value & 15]
        value >>= 4


cdef inline void _fill_stamp(char* p, uint64_t seq, uint64_t send_ns, Py_ssize_t size) noexcept nogil:
    cdef Py_ssize_t i
    _put_hex(p, seq)
    _put_hex(p + 16, send_ns)
    for i in range(_STAMP_SIZE, size):
        p[i] = c'.'


cdef bytes _stamp(uint64_t seq, uint64_t send_ns, Py_ssize_t size):
    cdef bytes out = PyBytes_FromStringAndSize(NULL, size)
    _fill_stamp(PyBytes_AS_STRING(out), seq, send_ns, size)
    return out


def stamp(seq: int, send_ns: int, size: int) -> bytes:
    """The stamp the fast path sends (== ``stamp_factory(size)(seq, send_ns)``)."""
    if size < _STAMP_SIZE:
        raise ValueError(f"message size must be at least {_STAMP_SIZE} bytes, got {size}")
    return _stamp(seq, send_ns, size)


def parse_seq(data: bytes) -> int:
    """The seq the fast path reads (== ``read_seq`` for stamps; -1 otherwise)."""
    if len(data) < _STAMP_SIZE:
        return -1
    return _parse_seq(PyBytes_AS_STRING(data))


cdef class FastListener(WSListener):
    """picows callbacks -> Session, with the closed-loop reply handled in C."""

    cdef readonly object session
    cdef object on_message
    cdef object answer_close
    cdef object fail
    cdef object on_end
    cdef object recorder
    cdef dict outstanding
    cdef list rtt
    cdef Py_ssize_t size
    cdef Py_ssize_t max_size
    cdef WSMsgType send_type
    cdef bint closed_loop
    cdef public bytearray fragments
    cdef public object close_code
    cdef public str close_reason
    cdef public str cause  # why the session ended (wsbench.protocol.failures), "" until then
    cdef public int64_t upgraded_ns  # when the 101 was parsed (0: not upgraded)
    # the lease: the session's closed-loop state while the fast path holds it (see the module doc)
    cdef readonly bint leased
    cdef int64_t out_seq  # the one outstanding message (out of Session.outstanding meanwhile)
    cdef int64_t out_scheduled
    cdef int64_t next_seq
    cdef int64_t max_seq
    cdef int64_t messages_left
    cdef int64_t last_send_ns
    cdef bytearray out_buffer  # the next stamp, written in place (picows masks it there)

    def __init__(self, session, *, binary: bool, size: int, answer_close, fail, on_end, max_size: int):
        self.session = session
        self.answer_close = answer_close  # transports.answer_close (shared with _Listener)
        self.fail = fail  # transports.fail_connection
        self.on_end = on_end  # PicowsTransport.ended
        self.on_message = session.on_message
        self.recorder = session.recorder
        self.outstanding = session.outstanding
        self.rtt = session.recorder.rtt_pending
        self.size = size
        self.max_size = max_size
        self.send_type = WSMsgType.BINARY if binary else WSMsgType.TEXT
        self.closed_loop = session.closed_loop
        self.fragments = None
        self.close_code = None
        self.close_reason = ""
        self.cause = ""
        self.upgraded_ns = 0
        self.leased = False
        self.out_buffer = bytearray(_HEADROOM + size) if self.closed_loop else None

    cpdef on_ws_connected(self, WSTransport transport):
        self.upgraded_ns = _now_ns()

    cpdef on_ws_frame(self, WSTransport transport, WSFrame frame):
        cdef WSMsgType msg_type = frame.msg_type
        cdef int64_t now, seq
        if frame.rsv1 or frame.rsv2 or frame.rsv3:
            self.fail(self, transport, "protocol_error:reserved_bits")
            return
        if msg_type == WSMsgType.TEXT or msg_type == WSMsgType.BINARY:
            if self.fragments is not None:
                self.fail(self, transport, "protocol_error:unfinished_message")
            elif frame.fin:
                now = _now_ns()
                if self.closed_loop and frame.payload_size >= _STAMP_SIZE:
                    seq = _parse_seq(frame.payload_ptr)
                    if seq >= 0 and self._reply(transport, seq, now):
                        return
                self._release()
                self.on_message(frame.get_payload_as_bytes(), now)
            else:
                self.fragments = bytearray(frame.get_payload_as_memoryview())
        elif msg_type == WSMsgType.CONTINUATION:
            if self.fragments is None:
                self.fail(self, transport, "protocol_error:unexpected_continuation")
            elif len(self.fragments) + frame.payload_size > self.max_size:
                self.fail(self, transport, "message_too_big")
            else:
                self.fragments += frame.get_payload_as_memoryview()
                if frame.fin:
                    data = bytes(self.fragments)
                    self.fragments = None
                    self._release()
                    self.on_message(data, _now_ns())
        elif msg_type == WSMsgType.CLOSE:
            self.answer_close(self, transport, frame)

    cpdef on_ws_disconnected(self, WSTransport transport):
        self._release()
        self.on_end(self, transport)

    cpdef pause_writing(self):
        pass  # the send high-water mark is the session's (Session._rate_tick)

    cpdef resume_writing(self):
        pass

    def release(self):
        """Write the leased closed-loop state back to the Session (a no-op when not leased)."""
        self._release()

    cdef int _release(self) except -1:
        if not self.leased:
            return 0
        self.leased = False
        session = self.session
        session.next_seq = self.next_seq
        session.max_seq = self.max_seq
        session.messages_left = self.messages_left
        session.last_send_ns = self.last_send_ns
        if self.out_seq >= 0:
            self.outstanding[self.out_seq] = self.out_scheduled
        return 0

    cdef bint _lease(self, int64_t seq) except -1:
        """Take the session's closed-loop state if ``seq`` is its one outstanding message."""
        session = self.session
        if session.finishing or len(self.outstanding) != 1:
            return False
        scheduled = self.outstanding.pop(seq, None)
        if scheduled is None:
            return False  # a duplicate or a stray: Session.on_message counts it
        self.out_seq = seq
        self.out_scheduled = scheduled
        self.next_seq = session.next_seq
        self.max_seq = session.max_seq
        self.messages_left = session.messages_left
        self.last_send_ns = session.last_send_ns
        self.leased = True
        return True

    cdef bint _reply(self, WSTransport transport, int64_t seq, int64_t now) except -1:
        """Session.on_message + send_next for a matched closed-loop reply; False: not handled."""
        cdef char* message
        if not self.leased:
            if not self._lease(seq):
                return False
        elif seq != self.out_seq:
            return False  # the caller releases, then Session.on_message
        recorder = self.recorder
        recorder.received += 1
        self.rtt.append((now - self.out_scheduled) // 1000)
        if seq < self.max_seq:  # only when just leased: a seq the slow path saw overtaken
            recorder.reordered += 1
        else:
            self.max_seq = seq
        if self.messages_left == 0:
            self.out_seq = -1  # nothing outstanding any more
            self._release()
            self.session.finish()
            return True
        self.last_send_ns = now
        self.out_seq = self.next_seq
        self.out_scheduled = now
        self.next_seq += 1
        message = PyByteArray_AS_STRING(self.out_buffer) + _HEADROOM
        _fill_stamp(message, <uint64_t>self.out_seq, <uint64_t>now, self.size)
        transport.send_reuse_external_buffer(self.send_type, message, self.size)
        recorder.sent += 1
        if self.messages_left > 0:
            self.messages_left -= 1
        return True

"""The thread-safe core of a connection, shared by the SMB1 and SMB2 engines: many requests
in flight from many threads over one transport, responses demultiplexed by their id
(SMB2 MessageId, [MS-SMB2] 3.2.5.1.2; SMB1 MID, [MS-CIFS] 3.2.5.1).

There is no receiver thread. A thread that needs a response (or credits, or a free MID
slot) becomes the *reader* when nobody is: it reads one message from the transport, hands
what it carries to the requests it answers -- anyone's -- through the dialect's
``_dispatch`` and wakes every waiter; then it gives the role back and checks whether what it
waited for has arrived. Every other thread sleeps on one condition variable until the reader
wakes it or its own deadline passes. Single-threaded use therefore costs no thread switch.

Buffers: the transport reuses one receive buffer. A response for another thread is copied
out of it; a response for the reader itself is handed over as a view, and the buffer stays
*pinned* -- no other thread may read -- until the owner releases it (:meth:`unpin`, or
:meth:`unpin_all` at the end of every engine operation, which copies what is left). The
owner itself may read on: its views are copied first.

Turns: credits (SMB2) and MID slots (SMB1) are handed out first come, first served
(:meth:`take_turn`), so a long transfer cannot starve a short request.

Offloading: a dialect may hand a large signed or encrypted message to the connection's
*crypto worker* (:meth:`offload`) instead of dispatching it: the worker thread checks the
signature or decrypts (pycryptodome's C code runs without the GIL) while the reader reads
the next message into a new buffer, then dispatches it under the lock. Nothing of an
offloaded message -- data, status, credits -- reaches anyone before its check passed, and
messages are dispatched in the order they came: once one is queued, the ones after it queue
behind it. At most ``MAX_OFFLOADED`` messages wait (the reader pauses meanwhile), and a
reader with messages queued reads in short slices, so that it sees the worker's results
even when nothing more arrives. A failure in the worker breaks the connection; the first
thread to notice gets the worker's ProtocolError itself.

Failure: :meth:`fail` marks the connection broken, closes the transport (which wakes a
reader blocked in ``poll``) and wakes every waiter: each raises NotConnectedError. A
timeout ends one thread's wait, never the connection.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from smb.errors import NotConnectedError, ProtocolError, SMBTimeout

_monotonic = time.monotonic
_get_ident = threading.get_ident
#: messages handed to the crypto worker and not yet dispatched, at most
MAX_OFFLOADED = 2
#: a message at least this long is moved out of the transport buffer by detaching the
#: buffer (no copy); shorter ones are copied
_DETACH_MIN = 64 * 1024
#: the longest a reader with offloaded messages pending blocks in one read (seconds)
_READ_SLICE = 0.002
#: how long an idle crypto worker waits for more work before its thread ends (seconds)
_WORKER_LINGER = 1.0


class _Signal:
    """The connection's lock and its sleeping threads. Each waiting thread sleeps on a
    condition of its own over the one lock, so that a message wakes the threads it concerns
    (:meth:`notify`) rather than every thread (:meth:`notify_all`, for changes that concern
    all: failure, released buffers)."""

    __slots__ = ("_lock", "_sleepers")

    def __init__(self):
        self._lock = threading.RLock()
        self._sleepers = {}  # thread ident -> its Condition, while it waits

    def __enter__(self):
        self._lock.acquire()
        return self

    def __exit__(self, *exc):
        self._lock.release()

    def wait(self, timeout: float) -> None:
        """Sleep (under the lock, which is released meanwhile) until notified or ``timeout``."""
        me = _get_ident()
        cond = self._sleepers[me] = threading.Condition(self._lock)
        try:
            cond.wait(timeout)
        finally:
            del self._sleepers[me]

    def notify(self, ident) -> bool:
        """Wake thread ``ident`` if it sleeps; whether it did."""
        cond = self._sleepers.get(ident)
        if cond is None:
            return False
        cond.notify()
        return True

    def notify_any(self) -> None:
        """Wake one sleeping thread (to take the reader's role)."""
        for cond in self._sleepers.values():
            cond.notify()
            return

    def notify_all(self) -> None:
        for cond in self._sleepers.values():
            cond.notify()


class _Turn:
    """One reservation in :meth:`Multiplexer.take_turn` (compared by identity)."""

    __slots__ = ("ident",)

    def __init__(self, ident):
        self.ident = ident


class Multiplexer:
    """Reader role, pinned buffers, turns and the broken state of one connection."""

    #: for messages: "SMB1" or "SMB2"
    name = "SMB"

    def __init__(self, transport):
        self.transport = transport
        #: the exception that made the connection unusable, or None
        self.broken = None
        self._cv = _Signal()
        self._send_lock = threading.Lock()
        self._reader = None      # ident of the thread reading the transport now
        self._pinned = []        # holders whose response views point into the transport buffer
        self._pinned_by = None   # the thread those views were handed to
        self._turns = deque()    # waiting reservations, first come first served
        self._progress = {}      # thread ident -> when a message for one of its requests came
        self._touched = set()    # threads a message read now concerns (woken after dispatch)
        self._offloaded = deque()  # messages queued for the crypto worker, in arrival order
        self._worker_cv = threading.Condition(self._cv._lock)
        self._worker_alive = False
        self._worker = None  # the worker's thread, once started
        self._worker_error = None  # the worker's ProtocolError, until a thread has raised it

    # --- broken state -----------------------------------------------------------------
    def check_usable(self) -> None:
        if self.broken is not None:
            err, self._worker_error = self._worker_error, None
            if err is not None:  # the first to notice gets what the worker found
                raise err
            raise NotConnectedError("%s connection is unusable after an earlier error: %s"
                                    % (self.name, self.broken))

    def fail(self, exc: BaseException, *, in_worker: bool = False) -> BaseException:
        """Mark the connection broken by ``exc`` (closing the transport, waking every
        waiter) and return ``exc`` -- or, when the crypto worker broke the connection and
        no thread has reported it yet, the worker's error, which is the cause."""
        with self._cv:
            if self.broken is None:
                self.broken = exc
                if in_worker and isinstance(exc, ProtocolError):
                    self._worker_error = exc
        try:
            self.transport.close()
        except Exception:  # pragma: no cover - close must not mask the real error
            pass
        with self._cv:
            self._cv.notify_all()
            self._worker_cv.notify()  # an idle worker ends now
            if in_worker:
                return exc
            pending, self._worker_error = self._worker_error, None
        return exc if pending is None else pending

    def close(self) -> None:
        """Close the transport; later calls raise NotConnectedError. Never raises."""
        if self.broken is None:
            self.broken = NotConnectedError("closed")
        self.fail(self.broken)
        worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(5.0)  # it has seen the broken state: gone in a moment

    # --- pinned views ---------------------------------------------------------------
    def hand_over(self, holder, view, owner, me):
        """What ``holder`` (a request of thread ``owner``) keeps of ``view``, a piece of the
        message the reader ``me`` just read: the view itself for the reader (pinned), a
        copy for anyone else. Called under the lock."""
        if owner != me:
            return bytes(view)
        self._pinned.append(holder)
        self._pinned_by = me
        return view

    def unpin(self, holder) -> None:
        """``holder``'s owner is done with its views."""
        if not self._pinned:
            return
        with self._cv:
            try:
                self._pinned.remove(holder)
            except ValueError:
                return
            if not self._pinned:
                self._pinned_by = None
                self._cv.notify_all()

    def unpin_all(self) -> None:
        """Copy this thread's views still pointing into the transport buffer (the end of an
        operation: nothing of it may keep other threads from reading)."""
        if self._pinned and self._pinned_by == _get_ident():
            with self._cv:
                self._copy_pinned()
                self._cv.notify_all()

    def _copy_pinned(self) -> None:
        for holder in self._pinned:
            holder.detach()
        self._pinned.clear()
        self._pinned_by = None

    # --- waiting --------------------------------------------------------------------
    def progressed(self, owner) -> None:
        """A message answering (finally or in the interim) a request of thread ``owner`` has
        come: that thread's wait starts again (called under the lock)."""
        self._progress[owner] = _monotonic()
        self._touched.add(owner)

    def pump(self, ready, deadline: float) -> None:
        """Return once ``ready()`` (evaluated under the lock; it may raise) is true, reading
        messages -- for any thread -- whenever nobody else does.

        The wait is pysmb's: ``deadline - now`` (at the call) is the patience, the longest
        silence allowed; every message that answers one of this thread's requests (another
        READ of the same transfer, an interim response) starts it again. SMBTimeout when the
        patience runs out with nothing for this thread."""
        me = _get_ident()
        cv = self._cv
        patience = deadline - _monotonic()
        self._progress.pop(me, None)
        try:
            while True:
                with cv:
                    while True:
                        if ready():  # done and checked: the worker may have failed on a later one
                            return
                        self.check_usable()
                        if (self._reader is None and self._pinned_by in (None, me)
                                and len(self._offloaded) < MAX_OFFLOADED):
                            self._reader = me
                            self._copy_pinned()  # the buffer is about to be reused
                            sliced = bool(self._offloaded)
                            break
                        deadline = self._deadline(me, deadline, patience)
                        cv.wait(min(deadline - _monotonic(), 3600.0))  # inf: wait forever
                until = self._deadline(me, deadline, patience)
                if not sliced:
                    self._read_one(until, me)
                    continue
                try:  # the worker's results must not wait for the next message
                    self._read_one(min(until, _monotonic() + _READ_SLICE), me)
                except SMBTimeout:
                    if _monotonic() >= until:
                        raise
        finally:
            self._progress.pop(me, None)

    def _deadline(self, me, deadline: float, patience: float) -> float:
        """``deadline``, moved on by this thread's progress; SMBTimeout once it has passed."""
        last = self._progress.get(me)
        if last is not None and last + patience > deadline:
            deadline = last + patience
        if deadline - _monotonic() <= 0:
            raise SMBTimeout("%s response not received before the deadline" % self.name)
        return deadline

    def _read_one(self, deadline: float, me) -> None:
        """Read one message as the reader and dispatch it; the reader role is given back
        and the waiters woken once, in the same locked step."""
        cv = self._cv
        try:
            data = self.transport.recv(deadline)
        except BaseException as e:
            with cv:
                self._reader = None
                cv.notify_all()
            if isinstance(e, (NotConnectedError, ProtocolError)):
                raise self.fail(e)
            if isinstance(e, OSError) and not isinstance(e, SMBTimeout):
                raise self.fail(NotConnectedError(str(e)))
            raise
        with cv:
            try:
                self._dispatch(data, me)
            except BaseException as e:
                self._reader = None
                cv.notify_all()
                if isinstance(e, ProtocolError):
                    raise self.fail(e)
                raise
            self._reader = None
            self._wake_after_message(me)

    def _wake_after_message(self, me) -> None:
        """After a message: wake the threads it answered, the first thread waiting for its
        turn (credits may have come), and -- when none of them sleeps -- one other thread to
        take the reader's role. Under the lock."""
        cv = self._cv
        woken = False
        for owner in self._touched:
            if owner != me:
                woken = cv.notify(owner) or woken
        self._touched.clear()
        if self._turns:
            woken = cv.notify(self._turns[0].ident) or woken
        if not woken:
            cv.notify_any()

    # --- the crypto worker ------------------------------------------------------------
    def offload(self, data) -> None:
        """Queue the transport message ``data`` (just read) for the crypto worker, which
        calls :meth:`_process_offloaded` on it. Called by the reader, under the lock."""
        if len(data) >= _DETACH_MIN:
            self.transport.detach_buffer()  # ``data`` keeps the old buffer: no copy
        else:
            data = bytes(data)
        self._offloaded.append(data)
        if self._worker_alive:
            self._worker_cv.notify()
        else:
            self._worker_alive = True
            self._worker = threading.Thread(target=self._work, name="smb-crypto", daemon=True)
            self._worker.start()

    def _work(self) -> None:
        cv = self._cv
        while True:
            with cv:
                while not self._offloaded and self.broken is None:
                    if not self._worker_cv.wait(_WORKER_LINGER) and not self._offloaded:
                        break
                if not self._offloaded or self.broken is not None:
                    self._offloaded.clear()
                    self._worker_alive = False
                    cv.notify_all()
                    return
                data = self._offloaded[0]  # stays queued (counted) until dispatched
            try:
                finish = self._process_offloaded(data)  # no lock: verify / decrypt
                with cv:
                    self._offloaded.popleft()
                    if self.broken is None:
                        finish()
                    self._touched.clear()
                    cv.notify_all()  # owners, turns, and a reader waiting for room in the queue
            except BaseException as e:
                with cv:
                    self._offloaded.clear()
                    self._worker_alive = False
                self.fail(e, in_worker=True)
                return

    def _process_offloaded(self, data):  # pragma: no cover - abstract
        """The lock-free part of an offloaded message (signature check, decryption);
        returns what completes its dispatch, called under the lock."""
        raise NotImplementedError

    def _dispatch(self, data, me) -> None:  # pragma: no cover - abstract
        """Hand one transport message to the requests it answers (under the lock)."""
        raise NotImplementedError

    def take_turn(self, try_take, deadline: float) -> None:
        """Wait for this thread's turn, then until ``try_take()`` (under the lock) succeeds;
        turns are served in arrival order. ``try_take`` may raise to give up."""
        turn = _Turn(_get_ident())
        with self._cv:
            self._turns.append(turn)

        def ready():
            return self._turns[0] is turn and try_take()

        try:
            self.pump(ready, deadline)
        finally:
            with self._cv:
                first = bool(self._turns) and self._turns[0] is turn
                try:
                    self._turns.remove(turn)
                except ValueError:
                    pass
                if first and self._turns:  # the next turn is due
                    self._cv.notify(self._turns[0].ident)
                self._cv.notify_any()  # the reader's role may be free

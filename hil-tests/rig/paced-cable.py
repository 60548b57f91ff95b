#!/usr/bin/env python3
# A serial null-modem "cable" between two pseudo-terminals that runs at the
# line rate. A pty ignores the baud rate entirely (a 9600-baud pty moves
# megabytes per second), so timing tests over a plain socat pair measure
# nothing. This relay holds both pty masters and models each direction as a
# UART pair:
#
#   app A -> slave A | master A -> [tx queue] -> wire (1 char per char time)
#                                           -> [receiver UART buffer] -> master B | slave B -> app B
#
# * Each byte is delivered no earlier than one character time after the
#   previous byte of the same direction. Character time = (1 start + data bits
#   + parity + stop bits) / baud, from the termios the SENDING application set
#   (TCGETS2 on a pty slave gives the numeric rate, custom rates included), or
#   --baud when forced, or --fallback-baud while the app has not set a speed
#   (we leave the speed at B0 until it does).
# * The receiving "UART" holds --rx-buffer bytes the application has not read
#   yet; bytes arriving while it is full are dropped and counted (overrun).
#   The kernel's line discipline holds at most 4095 unread bytes, so anything
#   beyond that is held here and fed in as the application reads.
# * The sender's "UART" takes --tx-buffer bytes ahead of the wire; the pty's
#   own kernel buffers come on top of that (a write() returns before the bytes
#   are on the wire, tcdrain() does not wait for the wire: known limitation).
# * Delivery is batched: the relay wakes at most every --tick-us (default
#   1 ms), except that the last byte of a burst is delivered at its exact due
#   time, so a frame's end arrives on time and CPU use stays low.
#
# We keep our own fd of each slave open: the application may close and reopen
# its end at will (the master never sees a hang-up), we can ask the receiver's
# line discipline how much is unread (TIOCINQ), and the termios survive. As
# with a real UART (and socat), bytes left unread when the app closes its end
# are read by the next opener: open, then flush.
#
# Clock: time.monotonic_ns() is CLOCK_MONOTONIC, the clock of Node's
# process.hrtime.bigint(), so frame timestamps compare directly across
# processes and namespaces.
#
# Scheduling: the cable stands for hardware, so it runs at --nice -10 (when
# root) and, with --rt-priority, as SCHED_FIFO: its timing must not suffer from
# the load of the nodes it connects. All file output is done by a writer
# thread (a slow disk must not delay the wire).
#
# Outputs: --stats FILE (JSON, rewritten every second while something changes,
# at once on SIGUSR1, and at exit), --frames FILE (one JSON line per >>>..<<<
# frame sent by or delivered to each end: t0/t1 = first/last byte read from the
# sender or delivered to the receiver; for sent frames w0/w1 = when the first
# byte went on / the last byte came off the wire), --tap-a2b/--tap-b2a FILE
# (raw bytes written by A / by B, appended). SIGTERM/SIGINT: write stats,
# remove the links, exit 0 (closing the masters hangs up both slaves, like
# pulling the cable).

import argparse
import fcntl
import json
import os
import queue
import select
import signal
import struct
import sys
import termios
import threading
import time
import tty

KERNEL_RX_MAX = 4095  # n_tty keeps at most N_TTY_BUF_SIZE - 1 unread bytes (non-canonical)
READ_CHUNK = 4096
MAX_FRAME = 256 * 1024  # Heartbeat's MAXMSG: longer "frames" are garbage
STATS_EVERY_NS = 1_000_000_000
BACKLOG_POLL_NS = 2_000_000  # how often to retry feeding held bytes to a reader that is behind
# Bytes written to a pty master sit in the kernel's flip buffer until a kworker moves
# them into n_tty, where FIONREAD first counts them (usually within tens of microseconds,
# but a loaded 2-core CI machine delayed the kworker past 5 ms: one byte too many was
# admitted). Before deciding to drop bytes, the rig waits at most this long for a recent
# write to land; a reader that consumes meanwhile ends the wait at once (see settle).
IN_FLIGHT_NS = 50_000_000

# struct termios2 (asm-generic): 4 flags, c_line, c_cc[19], c_ispeed, c_ospeed
TERMIOS2 = struct.Struct('@IIIIB19BII')
TCGETS2 = (2 << 30) | (TERMIOS2.size << 16) | (ord('T') << 8) | 0x2A
FIONREAD = getattr(termios, 'FIONREAD', 0x541B)
CSIZE_BITS = {termios.CS5: 5, termios.CS6: 6, termios.CS7: 7, termios.CS8: 8}
SPEED_OF_CONST = {}
for _name in dir(termios):
    if _name.startswith('B') and _name[1:].isdigit():
        SPEED_OF_CONST[getattr(termios, _name)] = int(_name[1:])


def now_ns():
    return time.monotonic_ns()


class End:
    """One end of the cable: the pty we created for it and its link."""

    def __init__(self, label, link):
        self.label = label
        self.link = link
        self.master, self.slave = os.openpty()
        self.pty = os.ttyname(self.slave)
        # raw, no echo (an echoing slave would send our input straight back),
        # speed B0 = "not set by the application yet"
        tty.setraw(self.slave)
        attrs = termios.tcgetattr(self.slave)
        attrs[4] = attrs[5] = termios.B0
        termios.tcsetattr(self.slave, termios.TCSANOW, attrs)
        os.set_blocking(self.master, False)
        try:
            if os.path.islink(link):
                os.unlink(link)
        except FileNotFoundError:
            pass
        os.symlink(self.pty, link)

    def line(self):
        """(baud or None when unset, bits per character) as the application configured this end."""
        try:
            f = TERMIOS2.unpack(fcntl.ioctl(self.slave, TCGETS2, bytes(TERMIOS2.size)))
            cflag, baud = f[2], f[-1]
        except OSError:  # no termios2 on this architecture/kernel: classic termios
            a = termios.tcgetattr(self.slave)
            cflag, baud = a[2], SPEED_OF_CONST.get(a[5], 0)
        bits = 1 + CSIZE_BITS.get(cflag & termios.CSIZE, 8)
        bits += 1 if cflag & termios.PARENB else 0
        bits += 2 if cflag & termios.CSTOPB else 1
        return (baud or None), bits

    def unread(self):
        """Bytes the application has not read yet (in the line discipline)."""
        buf = fcntl.ioctl(self.slave, FIONREAD, b'\0\0\0\0')
        return struct.unpack('@i', buf)[0]

    def close(self):
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            if os.path.islink(self.link) and os.readlink(self.link) == self.pty:
                os.unlink(self.link)
        except OSError:
            pass


class FrameScanner:
    """Finds >>>\\n ... <<<\\n frames in a byte stream and logs when their first and last byte passed."""

    START = b'>>>\n'

    def __init__(self, emit, base):
        self.emit = emit
        self.base = base
        self.in_frame = False
        self.buf = bytearray()  # in a frame: the frame so far; else: up to 3 bytes of a split start marker
        self.held = []  # out of a frame: (time passed, wire start) of each byte of buf
        self.t0 = 0
        self.w0 = None

    def feed(self, data, t, wire=None):
        """data passed at time t; wire = (wire start of data[0], char time) on the sending side."""
        n = len(data)

        def wire_at(j):
            return None if wire is None else round(wire[0] + j * wire[1])

        pos0 = 0  # index of data[0] in the chunk given (negative: bytes held from before)
        while data:
            if not self.in_frame:
                held = len(self.buf)
                s = bytes(self.buf) + data
                i = s.find(self.START)
                if i < 0:
                    keep = s[-3:]
                    fresh = [(t, wire_at(pos0 + j)) for j in range(max(0, len(data) - 3), len(data))]
                    self.held = (self.held + fresh)[-len(keep):]
                    self.buf = bytearray(keep)
                    return
                self.t0, self.w0 = self.held[i] if i < held else (t, wire_at(pos0 + i - held))
                self.held = []
                self.in_frame = True
                self.buf = bytearray()
                data = s[i:]
                pos0 += i - held
                continue
            old = len(self.buf)
            self.buf += data
            data = b''
            frm = max(3, old - 4)
            end = self.buf.find(b'\n<<<\n', frm)
            restart = self.buf.find(b'\n>>>\n', frm)
            if restart >= 0 and (end < 0 or restart < end):
                cut, complete = restart + 1, False  # bytes were lost: a new frame began
            elif end >= 0:
                cut, complete = end + 5, True
            elif len(self.buf) > MAX_FRAME:
                cut, complete = len(self.buf), False
            else:
                return
            last = n - len(self.buf) + cut - 1  # index in this chunk of the frame's last byte
            self._done(self.buf[:cut], t, complete, None if wire is None else round(wire[0] + (last + 1) * wire[1]))
            data = bytes(self.buf[cut:])
            pos0 = n - len(data)
            self.in_frame = False
            self.buf = bytearray()

    def _done(self, frame, t1, complete, w1=None):
        rec = dict(self.base)
        rec.update(t0=self.t0, t1=t1, len=len(frame), ok=complete)
        if self.w0 is not None:
            rec['w0'] = self.w0  # its first byte started on the wire (later than t0 if the line was busy)
        if w1 is not None:
            rec['w1'] = w1  # its last byte is off the wire (later than w0 + len chars if the sender paused mid-frame)
        for line in bytes(frame[4:]).split(b'\n'):
            k, sep, v = line.partition(b'=')
            if sep and k in (b'src', b'seq', b't', b'ttl', b'hg', b'dest'):
                key = 'type' if k == b't' else k.decode('ascii', 'replace')
                if key not in rec:
                    rec[key] = v.decode('ascii', 'replace')
        self.emit(rec)


class Direction:
    """One direction of the cable: bytes written by `src`'s application, delivered to `dst`'s."""

    def __init__(self, label, src, dst, cfg, tap, frames_emit):
        self.label = label
        self.src = src
        self.dst = dst
        self.cfg = cfg
        self.tap = tap
        self.sched = []  # [data, start_ns, char_ns, delivered]; bytes back to back from start
        self.sched_bytes = 0
        self.wire_free = 0.0
        self.backlog = bytearray()  # arrived at the receiving UART, not yet in the kernel
        self.last_write_ns = 0  # when bytes were last written to dst's master
        self.landed_expect = 0  # FIONREAD once they have landed, if the reader took none
        self.c = dict(bytesIn=0, bytesDelivered=0, bytesDropped=0, mismatchBytes=0,
                      framesSent=0, framesDelivered=0, badFrames=0, maxHeld=0,
                      baud=0, bitsPerChar=0, charTimeNs=0, receiverBaud=0, writeErrors=0,
                      bursts=0, burstLateSumNs=0, burstLateMaxNs=0, wakeLateMaxNs=0)
        base = {'cable': cfg.name, 'dir': label}
        self.tx_scan = FrameScanner(self._frame('tx', frames_emit), dict(base, ev='tx', end=src.label)) if frames_emit else None
        self.rx_scan = FrameScanner(self._frame('rx', frames_emit), dict(base, ev='rx', end=dst.label)) if frames_emit else None

    def _frame(self, ev, emit):
        def on(rec):
            self.c['framesSent' if ev == 'tx' else 'framesDelivered'] += 1
            if not rec['ok']:
                self.c['badFrames'] += 1
            emit(rec)
        return on

    def wants_input(self):
        return self.sched_bytes < self.cfg.tx_buffer

    def char_ns(self):
        if self.cfg.baud:
            baud = self.cfg.baud
            _, bits = self.src.line()
        else:
            baud, bits = self.src.line()
            baud = baud or self.cfg.fallback_baud
        return baud, bits, bits * 1e9 / baud

    def read_input(self, t):
        room = self.cfg.tx_buffer - self.sched_bytes
        try:
            data = os.read(self.src.master, min(READ_CHUNK, room))
        except BlockingIOError:
            return False
        except OSError:  # EIO: cannot happen while we hold the slave; treat as nothing read
            return False
        if not data:
            return False
        baud, bits, ct = self.char_ns()
        rbaud, _ = self.dst.line()
        if self.cfg.baud is None and rbaud is not None and rbaud != baud:
            self.c['mismatchBytes'] += len(data)
        self.c.update(baud=baud, bitsPerChar=bits, charTimeNs=round(ct), receiverBaud=rbaud or 0)
        self.c['bytesIn'] += len(data)
        if self.tap:
            self.tap(data)
        start = max(self.wire_free, float(t))
        if self.tx_scan:
            self.tx_scan.feed(data, t, (start, ct))
        self.sched.append([data, start, ct, 0])
        self.sched_bytes += len(data)
        self.wire_free = start + len(data) * ct
        return True

    def due(self, t):
        """Bytes whose last bit has been on the wire by time t."""
        out = bytearray()
        while self.sched:
            item = self.sched[0]
            data, start, ct, done = item
            k = min(len(data), int((t - start) / ct))
            if k > done:
                out += data[done:k]
                item[3] = k
            if k < len(data):
                break
            self.sched.pop(0)
            if not self.sched:
                # end of a burst: how late its last byte is (scheduling/timer lateness of this relay)
                late = max(0, int(t - (start + len(data) * ct)))
                self.c['bursts'] += 1
                self.c['burstLateSumNs'] += late
                self.c['burstLateMaxNs'] = max(self.c['burstLateMaxNs'], late)
        self.sched_bytes -= len(out)
        return out

    def settle(self):
        """Waits (briefly) for bytes just written to the receiver to show in FIONREAD.

        Without this an overrun decision could count them as free room and admit more
        than the UART holds. A reader that consumes meanwhile makes FIONREAD fall (the
        wait ends: its reads made room) or keeps it below the expectation (the time bound
        ends it). Only called when the receiver is close to overrun, never on a ring
        whose readers keep up."""
        deadline = self.last_write_ns + IN_FLIGHT_NS
        last = self.dst.unread()
        while now_ns() < deadline and last < self.landed_expect:
            time.sleep(0.0001)
            unread = self.dst.unread()
            if unread < last:
                return  # the reader is consuming: its reads made the room
            last = unread

    def arrive(self, data):
        """Bytes reached the receiving UART: keep what fits, drop the rest (overrun)."""
        if not data:
            return
        unread = self.dst.unread()
        if now_ns() < self.last_write_ns + IN_FLIGHT_NS:
            # Some of the last write may still be on its way into n_tty: if counting
            # all of it would overrun, wait for it to land and count what is really there.
            if max(unread, self.landed_expect) + len(self.backlog) + len(data) > self.cfg.rx_buffer:
                self.settle()
                unread = self.dst.unread()
        held = unread + len(self.backlog)
        take = max(0, min(len(data), self.cfg.rx_buffer - held))
        if take:
            self.backlog += data[:take]
        self.c['bytesDropped'] += len(data) - take
        self.c['maxHeld'] = max(self.c['maxHeld'], held + take)

    def feed_receiver(self, t):
        """Moves held bytes into the receiver's kernel buffer as far as it has room."""
        if not self.backlog:
            return
        unread = self.dst.unread()
        room = KERNEL_RX_MAX - unread
        if room <= 0:
            return
        chunk = bytes(self.backlog[:room])
        try:
            n = os.write(self.dst.master, chunk)
        except BlockingIOError:
            return
        except OSError:
            self.c['writeErrors'] += 1
            return
        del self.backlog[:n]
        self.c['bytesDelivered'] += n
        in_flight = now_ns() < self.last_write_ns + IN_FLIGHT_NS
        self.landed_expect = max(unread, self.landed_expect if in_flight else 0) + n
        self.last_write_ns = now_ns()
        if self.rx_scan:
            self.rx_scan.feed(chunk[:n], t)

    def next_wake(self, t):
        """Monotonic ns at which this direction needs the loop again (None: only on input)."""
        wake = None
        if self.sched:
            data, start, ct, done = self.sched[0]
            next_due = start + (done + 1) * ct
            last_due = self.wire_free
            if next_due < t + self.cfg.tick_ns:
                next_due = min(t + self.cfg.tick_ns, last_due)
            wake = next_due
        if self.backlog:
            w = t + BACKLOG_POLL_NS
            wake = w if wake is None else min(wake, w)
        return wake

    def snapshot(self):
        s = dict(self.c)
        s['bytesQueued'] = self.sched_bytes
        s['bytesHeld'] = len(self.backlog)
        return s


class Config:
    def __init__(self, args):
        self.name = args.name
        self.baud = args.baud
        self.fallback_baud = args.fallback_baud
        self.rx_buffer = args.rx_buffer
        self.tx_buffer = args.tx_buffer
        self.tick_ns = args.tick_us * 1000


def write_json_atomic(path, obj):
    tmp = f'{path}.tmp'
    with open(tmp, 'w') as f:
        json.dump(obj, f)
    os.replace(tmp, path)


class Writer:
    """All file output, on a thread of its own: on ext4, replacing a file by
    rename flushes its data, and an append can wait for the journal; measured:
    stalls of 10-40 ms on a loaded VM. The wire must not wait for the disk."""

    def __init__(self):
        self.q = queue.SimpleQueue()
        self.files = {}
        self.thread = threading.Thread(target=self._run, name='paced-cable-writer', daemon=True)
        self.thread.start()

    def append(self, path, data):
        self.q.put(('append', path, data))

    def replace_json(self, path, obj):
        self.q.put(('json', path, obj))

    def close(self):
        self.q.put(None)
        self.thread.join(10)

    def _run(self):
        while True:
            item = self.q.get()
            if item is None:
                break
            kind, path, data = item
            try:
                if kind == 'append':
                    f = self.files.get(path)
                    if f is None:
                        f = self.files[path] = open(path, 'ab')
                    f.write(data)
                    f.flush()
                else:
                    write_json_atomic(path, data)
            except OSError as e:
                print(f'paced-cable: writing {path}: {e}', file=sys.stderr, flush=True)
        for f in self.files.values():
            f.close()


def main():
    p = argparse.ArgumentParser(description='paced serial null-modem cable between two ptys')
    p.add_argument('--a', required=True, help='link path for end A')
    p.add_argument('--b', required=True, help='link path for end B')
    p.add_argument('--name', default='cable')
    p.add_argument('--baud', type=int, default=None, help='force this rate for both directions')
    p.add_argument('--fallback-baud', type=int, default=19200, help='rate while an application has not set one')
    p.add_argument('--rx-buffer', type=int, default=4096, help='bytes a receiver holds unread before overrun')
    p.add_argument('--tx-buffer', type=int, default=4096, help='bytes taken from a sender ahead of the wire')
    p.add_argument('--tick-us', type=int, default=1000, help='batching interval')
    p.add_argument('--nice', type=int, default=-10,
                   help='scheduling niceness (best effort: needs root to go below 0)')
    p.add_argument('--rt-priority', type=int, default=0,
                   help='SCHED_FIFO priority 1..99 (0: normal scheduling; needs root)')
    p.add_argument('--stats')
    p.add_argument('--frames')
    p.add_argument('--tap-a2b')
    p.add_argument('--tap-b2a')
    args = p.parse_args()
    for v, what in ((args.rx_buffer, 'rx-buffer'), (args.tx_buffer, 'tx-buffer'), (args.tick_us, 'tick-us')):
        if v < 1:
            p.error(f'--{what} must be >= 1')
    for v, what in ((args.baud, 'baud'), (args.fallback_baud, 'fallback-baud')):
        if v is not None and v < 1:
            p.error(f'--{what} must be >= 1')
    cfg = Config(args)
    # The cable stands for hardware: its timing must not suffer from the load of
    # the nodes it connects (a ring of 8 nodes saturates 2 cores at startup).
    try:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)
    except OSError:
        pass
    nice = os.getpriority(os.PRIO_PROCESS, 0)
    # Real-time scheduling, when asked for (benchmarks): the relay then runs as
    # soon as a byte is due, like a UART that does not share a CPU. Every wake
    # is short and the loop always blocks in select(), so it cannot hog a core
    # (and the kernel's RT throttling caps it at 95 % anyway).
    rt = 0
    if args.rt_priority > 0:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(args.rt_priority))
            rt = args.rt_priority
        except OSError as e:
            print(f'paced-cable: no real-time scheduling ({e}); running at nice {nice}', file=sys.stderr, flush=True)

    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    flags = {'stop': False, 'usr1': 0}

    def on_stop(_sig, _frm):
        flags['stop'] = True

    def on_usr1(_sig, _frm):
        flags['usr1'] += 1

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGHUP, on_stop)
    signal.signal(signal.SIGUSR1, on_usr1)

    writer = Writer()

    def emit(rec):
        writer.append(args.frames, (json.dumps(rec, separators=(',', ':')) + '\n').encode())

    def tap(path):
        return (lambda data: writer.append(path, data)) if path else None

    a = End('a', args.a)
    b = End('b', args.b)
    dirs = [Direction('a2b', a, b, cfg, tap(args.tap_a2b), emit if args.frames else None),
            Direction('b2a', b, a, cfg, tap(args.tap_b2a), emit if args.frames else None)]
    started = now_ns()
    usr1_done = 0
    last_stats = 0
    dirty = True

    def write_stats(t):
        if not args.stats:
            return
        writer.replace_json(args.stats, {
            'pid': os.getpid(), 'name': cfg.name, 'timeNs': t, 'uptimeNs': t - started, 'usr1': usr1_done,
            'nice': nice, 'rtPriority': rt, 'forcedBaud': cfg.baud, 'fallbackBaud': cfg.fallback_baud, 'rxBuffer': cfg.rx_buffer,
            'txBuffer': cfg.tx_buffer, 'a': {'link': a.link, 'pty': a.pty}, 'b': {'link': b.link, 'pty': b.pty},
            'a2b': dirs[0].snapshot(), 'b2a': dirs[1].snapshot(),
        })

    write_stats(now_ns())
    print(f'paced-cable {cfg.name} ready: {a.link} -> {a.pty}, {b.link} -> {b.pty}, '
          f'baud {cfg.baud or "from termios"} (fallback {cfg.fallback_baud}), rx buffer {cfg.rx_buffer}, nice {nice}, rt {rt}',
          flush=True)
    try:
        while not flags['stop']:
            t = now_ns()
            rlist = [wake_r] + [d.src.master for d in dirs if d.wants_input()]
            wakes = [w for w in (d.next_wake(t) for d in dirs) if w is not None]
            byte_due = min(wakes) if wakes else None
            if dirty:
                wakes.append(last_stats + STATS_EVERY_NS)
            timeout = None if not wakes else max(0.0, (min(wakes) - t) / 1e9)
            try:
                ready, _, _ = select.select(rlist, [], [], timeout)
            except InterruptedError:
                ready = []
            t = now_ns()
            if byte_due is not None and t > byte_due:
                # How late the relay got the CPU for a due byte: far beyond the tick
                # (100+ ms) the relay itself was held off, i.e. the machine paused.
                for d in dirs:
                    d.c['wakeLateMaxNs'] = max(d.c['wakeLateMaxNs'], t - byte_due)
            if wake_r in ready:
                try:
                    os.read(wake_r, 512)
                except BlockingIOError:
                    pass
            for d in dirs:
                if d.src.master in ready and d.read_input(t):
                    dirty = True
            for d in dirs:
                arrived = d.due(t)
                if arrived:
                    dirty = True
                    d.arrive(arrived)
                if d.backlog:
                    d.feed_receiver(now_ns())
            if flags['usr1'] != usr1_done:
                usr1_done = flags['usr1']
                # a fresh time stamp: the asker accepts only a snapshot taken after it asked
                write_stats(now_ns())
                last_stats, dirty = t, False
            elif dirty and t - last_stats >= STATS_EVERY_NS:
                write_stats(t)
                last_stats, dirty = t, False
    finally:
        write_stats(now_ns())
        a.close()
        b.close()
        writer.close()
        print(f'paced-cable {cfg.name} stopped', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())

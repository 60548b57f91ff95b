// The paced serial cable (hil-tests/lib/paced-cable.ts + rig/paced-cable.py)
// against the serialport package on both ends: line-rate throughput, a frame's
// one-way latency, receiver overrun, close/reopen, unplug/replug, the frame
// log, and the ring helper. Timing tolerances follow the issue (3 % of
// theory); the cable itself measured within 0.1 % when the machine is idle.
//
//   node --import tsx --test hil-tests/paced-cable.test.ts     (needs python3; no root needed)

import { test, type TestContext } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SerialPortStream } from '@serialport/stream';

import { HangupAwareBinding, type HangupAwareSerialPort as SerialPort } from '../firmware/media/hangup-binding';

import { PacedCable, wireTimeMs, type PacedCableStats } from './lib/paced-cable';
import { CableRing } from './lib/ring';
import { sleep, testScope, waitUntil, type Scope } from './lib/procs';
import { makeTmpDir } from './lib/tmp';

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** Opens a port with serialport (8N1, no flow control) and flushes what an earlier user left. */
async function openPort(scope: Scope, device: string, baudRate: number, extra: { highWaterMark?: number } = {}): Promise<SerialPort> {
  const port = new SerialPortStream({ binding: HangupAwareBinding, path: device, baudRate, autoOpen: false, ...extra });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  await new Promise<void>((resolve, reject) => port.flush((e) => (e ? reject(e) : resolve())));
  scope.defer(`close ${device}`, () => closePort(port));
  return port;
}

function closePort(port: SerialPort): Promise<void> {
  return new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve()));
}

/**
 * Writes `data` in small chunks at `factor` x the line rate. serialport 13
 * cannot write and read a port at once when a write hits EAGAIN: its Poller
 * (poller.cpp) re-arms uv_poll with only the newest event, so the pending
 * 'readable' interest is lost and reading stalls (for good, once writes stop).
 * A writer that keeps the pty's buffer from filling never hits EAGAIN; the
 * small excess over the line rate keeps the cable's queue (4 KiB) busy.
 */
async function writePaced(port: SerialPort, data: Buffer, baud: number, factor = 1.03): Promise<void> {
  const chunk = 64;
  const bytesPerMs = (baud / 10 / 1000) * factor;
  const t0 = nowMs();
  for (let off = 0; off < data.length; off += chunk) {
    const due = t0 + off / bytesPerMs;
    const wait = due - nowMs();
    if (wait > 1) await sleep(wait);
    port.write(data.subarray(off, off + chunk));
  }
  await new Promise<void>((resolve, reject) => port.drain((e) => (e ? reject(e) : resolve())));
}

function writeAll(port: SerialPort, data: Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    port.write(data, (e) => (e ? reject(e) : undefined));
    port.drain((e) => (e ? reject(e) : resolve()));
  });
}

/** Collects bytes arriving on a port with their arrival times. */
class Receiver {
  bytes = 0;
  chunks: { t: number; n: number }[] = [];
  data: Buffer[] = [];
  constructor(readonly port: SerialPort, keep = false) {
    port.on('data', (d: Buffer) => {
      this.bytes += d.length;
      this.chunks.push({ t: nowMs(), n: d.length });
      if (keep) this.data.push(d);
    });
  }

  /** Bytes per second from the first chunk's arrival to the last one's (the first chunk's bytes excluded). */
  rate(): number {
    const first = this.chunks[0]!;
    const last = this.chunks[this.chunks.length - 1]!;
    return (this.bytes - first.n) / ((last.t - first.t) / 1000);
  }

  wait(total: number, timeoutMs: number): Promise<true> {
    return waitUntil(`${total} bytes on ${this.port.path} (have ${this.bytes})`, () => this.bytes >= total, { timeoutMs, intervalMs: 5 });
  }
}

/** CPU seconds (user + system) a process has used. */
function cpuSeconds(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100; // utime, stime in USER_HZ (100)
}

function pattern(n: number, seed = 0): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

const within = (measured: number, theory: number, tol: number): boolean => Math.abs(measured - theory) <= theory * tol;

/** A relay woke this late for a due byte: it was held off the CPU, the machine paused. */
const PAUSED_NS = 100e6;

/**
 * Runs a timing measurement on fresh cables (`run` registers them). If it fails
 * while a relay woke 100+ ms late for a due byte, the whole machine paused (seen
 * under CI load: every process frozen ~2 s at once) and the timings say nothing
 * about the cable: it is measured again, at most three times. Any other failure,
 * and a failure without such a pause, stands.
 */
async function measure(t: TestContext, what: string, run: (attempt: number, cables: PacedCable[]) => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const cables: PacedCable[] = [];
    try {
      await run(attempt, cables);
      return;
    } catch (e) {
      let late = 0;
      for (const c of cables) {
        const s = await c.stats().catch(() => undefined);
        if (s) late = Math.max(late, s.a2b.wakeLateMaxNs, s.b2a.wakeLateMaxNs);
      }
      if (attempt >= 3 || late < PAUSED_NS) throw e;
      t.diagnostic(`${what}: attempt ${attempt} void, a relay woke ${(late / 1e6).toFixed(0)} ms late (machine paused): ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

for (const baud of [115200, 19200]) {
  test(`throughput at ${baud} baud (8N1) is the line rate in both directions at once`, { timeout: 60_000 }, async (t) => {
    const scope = testScope(t);
    const dir = makeTmpDir(scope, `paced-${baud}`);
    await measure(t, `throughput at ${baud}`, async (attempt, cables) => {
      // real-time relay (as root): other HIL tests run in parallel, the wire's timing must not depend on them
      const cable = await PacedCable.create(scope, { dir: path.join(dir, `cable${attempt}`), rtPriority: 10 });
      cables.push(cable);
      const a = await openPort(scope, cable.a, baud);
      const b = await openPort(scope, cable.b, baud);
      const atB = new Receiver(b, true);
      const atA = new Receiver(a, true);
      const seconds = baud >= 100_000 ? 3 : 2;
      const n = (baud / 10) * seconds;
      const cpu0 = cpuSeconds(cable.pid!);
      const t0 = nowMs();
      await Promise.all([writePaced(a, pattern(n, 1), baud), writePaced(b, pattern(n, 2), baud)]);
      await Promise.all([atB.wait(n, seconds * 3000), atA.wait(n, seconds * 3000)]);
      const elapsed = (nowMs() - t0) / 1000;
      const cpu = (cpuSeconds(cable.pid!) - cpu0) / elapsed;
      const theory = baud / 10;
      t.diagnostic(`a->b ${atB.rate().toFixed(1)} B/s, b->a ${atA.rate().toFixed(1)} B/s, theory ${theory} B/s; ` +
        `relay CPU ${(cpu * 100).toFixed(1)} % of a core for two full-rate directions`);
      assert.ok(within(atB.rate(), theory, 0.03), `a->b rate ${atB.rate()} not within 3 % of ${theory}`);
      assert.ok(within(atA.rate(), theory, 0.03), `b->a rate ${atA.rate()} not within 3 % of ${theory}`);
      assert.ok(within(elapsed, seconds, 0.1), `all ${n} bytes took ${elapsed.toFixed(3)} s, wire time ${seconds} s`);
      assert.deepEqual(Buffer.concat(atB.data), pattern(n, 1), 'bytes a->b intact and in order');
      assert.deepEqual(Buffer.concat(atA.data), pattern(n, 2), 'bytes b->a intact and in order');
      assert.ok(cpu < 0.5, `relay used ${(cpu * 100).toFixed(0)} % of a core`);
      const s = await cable.stats();
      for (const d of [s.a2b, s.b2a]) {
        assert.equal(d.bytesIn, n);
        assert.equal(d.bytesDelivered, n);
        assert.equal(d.bytesDropped, 0);
        assert.equal(d.baud, baud, 'rate taken from the termios serialport set');
        assert.equal(d.bitsPerChar, 10);
      }
      t.diagnostic(`relay lateness at burst ends: mean ${(s.a2b.burstLateSumNs / Math.max(1, s.a2b.bursts) / 1e3).toFixed(0)} us, max ${(s.a2b.burstLateMaxNs / 1e3).toFixed(0)} us over ${s.a2b.bursts} bursts`);
    });
  });
}

test('a 150-byte frame arrives one wire time after it is written (115200: 13.0 ms)', { timeout: 60_000 }, async (t) => {
  const scope = testScope(t);
  const dir = makeTmpDir(scope, 'paced-latency');
  await measure(t, 'frame latency', async (attempt, cables) => {
    const cable = await PacedCable.create(scope, { dir: path.join(dir, `cable${attempt}`), frameLog: true, rtPriority: 10 });
    cables.push(cable);
    const a = await openPort(scope, cable.a, 115200);
    const b = await openPort(scope, cable.b, 115200);
    const wire = wireTimeMs(150, 115200);
    const latencies: number[] = [];
    let buffered = Buffer.alloc(0);
    let arrived: (() => void) | undefined;
    b.on('data', (d: Buffer) => {
      buffered = Buffer.concat([buffered, d]);
      if (buffered.includes('<<<\n')) arrived?.();
    });
    for (let seq = 1; seq <= 20; seq++) {
      const head = `>>>\nt=status\nsrc=nodea\nseq=${seq.toString(16)}\nx=`;
      const frame = Buffer.from(head + 'y'.repeat(150 - head.length - 5) + '\n<<<\n');
      assert.equal(frame.length, 150);
      buffered = Buffer.alloc(0);
      const got = new Promise<void>((r) => (arrived = r));
      const t0 = nowMs();
      a.write(frame);
      await got;
      latencies.push(nowMs() - t0);
      assert.deepEqual(buffered, frame);
      await sleep(5);
    }
    latencies.sort((x, y) => x - y);
    const median = latencies[latencies.length >> 1]!;
    t.diagnostic(`one-way latency: min ${latencies[0]!.toFixed(2)} median ${median.toFixed(2)} max ${latencies.at(-1)!.toFixed(2)} ms; wire time ${wire.toFixed(2)} ms`);
    assert.ok(latencies[0]! >= wire - 0.2, `a frame arrived faster than the wire allows (${latencies[0]} ms < ${wire} ms)`);
    // end to end includes serialport's read path in this (busy) test process
    assert.ok(median <= wire + 2, `median latency ${median} ms is more than 2 ms above the wire time ${wire} ms`);

    // The frame log: per frame one tx record (read from A) and one rx record (delivered to B).
    await waitUntil('20 rx frame records', () => cable.frames().filter((f) => f.ev === 'rx').length >= 20, { timeoutMs: 2000 });
    const recs = cable.frames();
    const cableLat: number[] = [];
    for (let seq = 1; seq <= 20; seq++) {
      const tx = recs.find((f) => f.ev === 'tx' && f.seq === seq.toString(16));
      const rx = recs.find((f) => f.ev === 'rx' && f.seq === seq.toString(16));
      assert.ok(tx && rx, `frame seq ${seq} logged on both ends`);
      assert.equal(tx.end, 'a');
      assert.equal(rx.end, 'b');
      assert.equal(rx.src, 'nodea');
      assert.equal(rx.type, 'status');
      assert.equal(rx.len, 150);
      assert.ok(rx.ok);
      const cableMs = (rx.t1 - tx.t0) / 1e6;
      cableLat.push(cableMs);
      assert.ok(cableMs >= wire - 0.05, `seq ${seq}: last byte delivered ${cableMs.toFixed(3)} ms after the first was read, faster than the wire (${wire.toFixed(3)})`);
    }
    cableLat.sort((x, y) => x - y);
    const cableMedian = cableLat[cableLat.length >> 1]!;
    const st = await cable.stats();
    t.diagnostic(`inside the cable (first byte read -> last byte delivered): min ${cableLat[0]!.toFixed(3)} median ${cableMedian.toFixed(3)} max ${cableLat.at(-1)!.toFixed(3)} ms; ` +
      `relay lateness at burst ends mean ${(st.a2b.burstLateSumNs / Math.max(1, st.a2b.bursts) / 1e3).toFixed(0)} us, max ${(st.a2b.burstLateMaxNs / 1e3).toFixed(0)} us`);
    assert.ok(cableMedian <= wire + 0.5, `median time inside the cable ${cableMedian} ms, wire time ${wire} ms`);
    // The records use process.hrtime's clock: they fall inside this test's time span.
    const first = recs[0]!.t0 / 1e6;
    assert.ok(first < nowMs() && first > nowMs() - 60_000, 'frame timestamps are CLOCK_MONOTONIC like process.hrtime');
  });
});

test('a receiver that does not read loses bytes beyond its buffer, counted as overrun', { timeout: 60_000 }, async (t) => {
  const scope = testScope(t);
  const dir = makeTmpDir(scope, 'paced-overrun');
  // (1) B opened but never read (raw fd): it gets exactly the default 4096 bytes.
  const cable = await PacedCable.create(scope, { dir: path.join(dir, 'raw'), baud: 115200 });
  const fd = fs.openSync(cable.b, fs.constants.O_RDWR | fs.constants.O_NOCTTY | fs.constants.O_NONBLOCK);
  scope.defer('close raw fd', () => fs.closeSync(fd));
  const a = await openPort(scope, cable.a, 115200);
  await writeAll(a, pattern(10_000));
  await waitUntil('all 10000 bytes through the wire', async () => (await cable.stats()).a2b.bytesQueued === 0 && (await cable.stats()).a2b.bytesIn === 10_000, { timeoutMs: 5000, intervalMs: 50 });
  const s1 = await cable.stats();
  t.diagnostic(`stalled raw reader: ${JSON.stringify(s1.a2b)}`);
  assert.equal(s1.a2b.bytesDropped, 10_000 - 4096, 'everything beyond the 4096-byte receive buffer is dropped');
  const got: Buffer[] = [];
  await waitUntil('the 4096 held bytes read', () => {
    const buf = Buffer.alloc(8192);
    try {
      const n = fs.readSync(fd, buf);
      if (n > 0) got.push(buf.subarray(0, n));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
    return Buffer.concat(got).length >= 4096;
  }, { timeoutMs: 2000, intervalMs: 5 });
  await sleep(100);
  assert.deepEqual(Buffer.concat(got), pattern(10_000).subarray(0, 4096), 'the first 4096 bytes, intact');
  assert.equal((await cable.stats()).a2b.bytesDelivered, 4096);

  // (2) serialport reader that pauses (small highWaterMark so it stops reading soon), 1000-byte UART.
  const cable2 = await PacedCable.create(scope, { dir: path.join(dir, 'sp'), rxBufferBytes: 1000 });
  const a2 = await openPort(scope, cable2.a, 115200);
  const b2 = await openPort(scope, cable2.b, 115200, { highWaterMark: 256 });
  const rx = new Receiver(b2);
  b2.pause();
  await writeAll(a2, pattern(8000));
  await waitUntil('all 8000 bytes through the wire', async () => {
    const s = await cable2.stats();
    return s.a2b.bytesIn === 8000 && s.a2b.bytesQueued === 0;
  }, { timeoutMs: 5000, intervalMs: 50 });
  b2.resume();
  await sleep(300);
  const s2 = await cable2.stats();
  t.diagnostic(`paused serialport reader: received ${rx.bytes}, ${JSON.stringify(s2.a2b)}`);
  assert.ok(s2.a2b.bytesDropped > 0, 'a stalled reader overruns');
  assert.equal(rx.bytes + s2.a2b.bytesDropped, 8000, 'every byte was either received or counted as dropped');
  assert.ok(rx.bytes >= 1000, 'the receive buffer was filled before dropping');
  assert.ok(s2.a2b.maxHeld <= 1000, `never more than rxBufferBytes held (${s2.a2b.maxHeld})`);
});

test('rate: forced baud wins over termios; fallback when the application sets none', { timeout: 60_000 }, async (t) => {
  const scope = testScope(t);
  const dir = makeTmpDir(scope, 'paced-rate');
  await measure(t, 'rate', async (attempt, cables) => {
    const forced = await PacedCable.create(scope, { dir: path.join(dir, `forced${attempt}`), baud: 115200 });
    cables.push(forced);
    const a = await openPort(scope, forced.a, 9600); // would take 1.04 s at 9600
    const b = await openPort(scope, forced.b, 9600);
    const rx = new Receiver(b);
    const t0 = nowMs();
    await writeAll(a, pattern(1000));
    await rx.wait(1000, 3000);
    const ms = nowMs() - t0;
    t.diagnostic(`1000 bytes on a cable forced to 115200 with both ends at 9600: ${ms.toFixed(1)} ms (wire ${wireTimeMs(1000, 115200).toFixed(1)} ms)`);
    // Which rate applies is the question here (9600 would take 1042 ms): the bound
    // leaves room for a busy machine; the rig's accuracy is the throughput test's job.
    assert.ok(ms >= wireTimeMs(1000, 115200) * 0.97 && ms < wireTimeMs(1000, 115200) * 1.5, `took ${ms} ms`);
    assert.equal((await forced.stats()).a2b.baud, 115200);

    // Raw fds, no termios call: the fallback rate (19200 here) applies.
    const fb = await PacedCable.create(scope, { dir: path.join(dir, `fallback${attempt}`), fallbackBaud: 19200 });
    cables.push(fb);
    const fa = fs.openSync(fb.a, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
    scope.defer('close fa', () => fs.closeSync(fa));
    const fbB = await openPort(scope, fb.b, 19200);
    const rx2 = new Receiver(fbB);
    const t1 = nowMs();
    fs.writeSync(fa, pattern(384));
    await rx2.wait(384, 3000);
    const ms2 = nowMs() - t1;
    t.diagnostic(`384 bytes from an end that set no rate: ${ms2.toFixed(1)} ms (19200 fallback: ${wireTimeMs(384, 19200).toFixed(1)} ms)`);
    assert.ok(ms2 >= wireTimeMs(384, 19200) * 0.97 && ms2 < wireTimeMs(384, 19200) * 1.5, `took ${ms2} ms`);
    const s = await fb.stats();
    assert.equal(s.a2b.baud, 19200);
  });
});

test('ends may close and reopen; unplug hangs up both ends, replug works again, counters add up', { timeout: 60_000 }, async (t) => {
  const scope = testScope(t);
  const dir = makeTmpDir(scope, 'paced-plug');
  const cable = await PacedCable.create(scope, { dir: path.join(dir, 'cable'), baud: 115200, tap: true });
  const pid = cable.pid!;
  const exchange = async (tag: string): Promise<void> => {
    const a = await openPort(scope, cable.a, 115200);
    const b = await openPort(scope, cable.b, 115200);
    const rx = new Receiver(b, true);
    await writeAll(a, Buffer.from(tag));
    await rx.wait(tag.length, 2000);
    assert.equal(Buffer.concat(rx.data).toString(), tag);
    await closePort(a);
    await closePort(b);
  };
  await exchange('first session\n');
  await exchange('second session after both ends closed\n');
  assert.equal(cable.pid, pid, 'closing the ends does not touch the relay');

  // unplug: a port holding the line (and reading it, as every application does) sees a hang-up
  const b = await openPort(scope, cable.b, 115200);
  b.on('data', () => {});
  const closed = new Promise<{ disconnected?: boolean } | null>((r) => b.once('close', (e: { disconnected?: boolean } | null) => r(e)));
  await cable.unplug();
  const e = await Promise.race([closed, sleep(5000).then(() => 'timeout' as const)]);
  assert.notEqual(e, 'timeout', 'the port noticed the unplug');
  assert.equal((e as { disconnected?: boolean } | null)?.disconnected, true, 'close event says disconnected');
  assert.ok(!fs.existsSync(cable.a) && !fs.existsSync(cable.b), 'links removed while unplugged');
  assert.throws(() => process.kill(pid, 0), 'relay process gone');
  await cable.replug();
  assert.equal(cable.plugCount, 2);
  await exchange('third session after replug\n');
  const s: PacedCableStats = await cable.stats();
  const total = 'first session\n'.length + 'second session after both ends closed\n'.length + 'third session after replug\n'.length;
  assert.equal(s.a2b.bytesDelivered, total, 'counters summed over both plug-ins');
  assert.equal(s.plugs, 2);
  assert.equal(cable.tapBytes('a2b').toString(), 'first session\nsecond session after both ends closed\nthird session after replug\n');
  const last = cable.pid!;
  await cable.teardown();
  assert.throws(() => process.kill(last, 0), 'teardown stops the relay');
  assert.ok(!fs.existsSync(cable.a), 'teardown removes the links');
});

test('ring helper: 4 nodes, ports, cut and restore', { timeout: 60_000 }, async (t) => {
  const scope = testScope(t);
  const dir = makeTmpDir(scope, 'paced-ring');
  const ring = await CableRing.create(scope, { dir, nodes: 4, cable: { baud: 115200 } });
  assert.equal(ring.cables.length, 4);
  // node i port 0 <-> node i+1 port 1, around the ring
  for (let i = 0; i < 4; i++) {
    const me = ring.ports(i);
    const next = ring.ports((i + 1) % 4);
    const a = await openPort(scope, me.port0!, 115200);
    const b = await openPort(scope, next.port1!, 115200);
    const rx = new Receiver(b, true);
    await writeAll(a, Buffer.from(`n${i}->n${(i + 1) % 4}`));
    await rx.wait(6, 2000);
    assert.equal(Buffer.concat(rx.data).toString(), `n${i}->n${(i + 1) % 4}`);
    await closePort(a);
    await closePort(b);
  }
  assert.deepEqual(ring.serialMedia('n2'), [`serial ${ring.ports(2).port0} ${ring.ports(2).port1}`]);
  assert.equal(ring.cableIndex(['n3', 'n0']), 3);
  await ring.cut(['n1', 'n2']);
  assert.ok(!fs.existsSync(ring.ports('n1').port0!), 'cut cable: links gone');
  assert.ok(fs.existsSync(ring.ports('n1').port1!), 'other cables untouched');
  await ring.restore(1);
  assert.ok(fs.existsSync(ring.ports('n1').port0!));
  await ring.isolate('n0');
  assert.deepEqual(ring.cables.map((c) => c.plugged), [false, true, true, false]);
  await ring.rejoin('n0');
  assert.ok(ring.cables.every((c) => c.plugged));

  const line = await CableRing.create(scope, { dir: path.join(dir, 'line'), nodes: ['hba', 'rb', 'hbb'], topology: 'line' });
  assert.equal(line.cables.length, 2);
  assert.equal(line.devices('hba').length, 1);
  assert.equal(line.devices('rb').length, 2);
  assert.equal(line.devices('hbb').length, 1);
  assert.throws(() => line.cable(['hba', 'hbb']), /not cabled/);
});

// HangupAwareBinding on REAL pseudo-terminals (a socat pair stands in for the
// cable) and, for the error paths a pty cannot produce on demand, a scripted read.

import { test as nodeTest, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPortStream } from '@serialport/stream';
import { LinuxBinding } from '@serialport/bindings-cpp';
import { HangupAwareBinding, HangupAwarePort } from './hangup-binding';
import { PtyPair, sleep, until } from './test-helpers.fixture';

const hasSocat = spawnSync('socat', ['-V']).status === 0;
const test = (name: string, fn: (t: TestContext) => Promise<void>) =>
  nodeTest(name, async (t) => {
    if (!hasSocat) throw new Error('socat is missing: apt-get install socat');
    await fn(t);
  });
/** A socat pty pair in a temp dir; killed by PID and removed after the test. */
async function ptyPair(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'rb-hangup-'));
  const pair = new PtyPair(dir);
  t.after(async () => {
    await pair.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  await pair.start();
  return { a: pair.a, b: pair.b, kill: () => pair.kill() };
}

async function openStream(path: string) {
  const port = new SerialPortStream({ binding: HangupAwareBinding, path, baudRate: 115200, autoOpen: false });
  await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
  port.on('error', () => {});
  return port;
}

test('data flows through it like through the stock binding', async (t) => {
  const { a, b } = await ptyPair(t);
  const A = await openStream(a);
  const B = await openStream(b);
  t.after(() => {
    for (const p of [A, B]) if (p.isOpen) p.close();
  });
  const got: Buffer[] = [];
  B.on('data', (d: Buffer) => got.push(d));
  A.write('hello\n');
  await until(() => Buffer.concat(got).toString() === 'hello\n', 'bytes across');
});

test('a line hung up before anyone reads closes the port as disconnected instead of spinning', async (t) => {
  const { b, kill } = await ptyPair(t);
  const B = await openStream(b);
  t.after(() => {
    if (B.isOpen) B.close();
  });
  // Nobody reads yet: the first read happens after the kernel's vhangup, so
  // it returns 0 (end of file), the case the stock binding retries forever.
  const closed = new Promise<(Error & { disconnected?: boolean }) | null>((r) => B.once('close', r));
  await kill();
  await sleep(200);
  B.on('data', () => {});
  const e = await Promise.race([closed, sleep(3000).then(() => 'still open' as const)]);
  assert.notEqual(e, 'still open', 'the port noticed the hang-up');
  assert.equal((e as { disconnected?: boolean }).disconnected, true, 'close says disconnected');
});

/** A LinuxPortBinding stand-in for the paths a pty cannot be made to take on cue. */
function scriptedPort(results: Array<number | NodeJS.ErrnoException>) {
  let open = true;
  const waits: string[] = [];
  const inner = {
    fd: 99,
    get isOpen() {
      return open;
    },
    poller: {
      once(ev: string, cb: (err?: Error | null) => void) {
        waits.push(ev);
        setImmediate(() => cb(null));
      },
    },
  } as unknown as ConstructorParameters<typeof HangupAwarePort>[0];
  const port = new HangupAwarePort(inner, async (_fd, buf, off) => {
    const r = results.shift();
    if (r === undefined) throw new Error('read called more often than scripted');
    if (typeof r !== 'number') throw r;
    buf.fill(0x41, off, off + r);
    return { bytesRead: r };
  });
  return { port, waits, close: () => (open = false) };
}

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });

test('EAGAIN and EINTR wait for the poller and read again; bytes are returned as read', async () => {
  const s = scriptedPort([errno('EAGAIN'), errno('EINTR'), 3]);
  const r = await s.port.read(Buffer.alloc(8), 0, 8);
  assert.equal(r.bytesRead, 3);
  assert.equal(r.buffer.subarray(0, 3).toString(), 'AAA');
  assert.deepEqual(s.waits, ['readable', 'readable']);
});

test('EIO, ENXIO and a 0-byte read are disconnects; after close every error is a quiet cancel', async () => {
  for (const r of [errno('EIO'), errno('ENXIO'), 0] as const) {
    const s = scriptedPort([r]);
    await assert.rejects(s.port.read(Buffer.alloc(8), 0, 8), (e: Error & { disconnect?: boolean; canceled?: boolean }) => {
      assert.equal(e.disconnect, true, `${String(r)} is a disconnect`);
      assert.notEqual(e.canceled, true);
      return true;
    });
  }
  const s = scriptedPort([errno('EBADF')]);
  s.close();
  await assert.rejects(s.port.read(Buffer.alloc(8), 0, 8), (e: Error & { canceled?: boolean }) => e.canceled === true);
});

test('the stock binding is what it wraps: opening returns a LinuxBinding port underneath', async (t) => {
  const { a } = await ptyPair(t);
  const p = await HangupAwareBinding.open({ path: a, baudRate: 115200 } as Parameters<typeof LinuxBinding.open>[0]);
  assert.equal(p.isOpen, true);
  assert.equal((await p.getBaudRate()).baudRate, 115200);
  await p.close();
  assert.equal(p.isOpen, false);
});

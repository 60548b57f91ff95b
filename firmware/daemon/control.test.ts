import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { controlRequest, startControlServer } from './control';

test('requests get replies; errors and garbage get error replies; a second daemon is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-ctl-'));
  const path = join(dir, 'run', 'nodea.sock');
  const server = await startControlServer(path, async (req) => {
    if (req.cmd === 'boom') throw new Error('it broke');
    return { echo: req.cmd };
  });
  t.after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(await controlRequest(path, { cmd: 'hello' }), { echo: 'hello' });
  await assert.rejects(controlRequest(path, { cmd: 'boom' }), /it broke/);

  const raw = await new Promise<string>((resolve) => {
    const s = createConnection(path);
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      if (buf.split('\n').length > 2) {
        s.destroy();
        resolve(buf);
      }
    });
    s.write('this is not json\n{"nocmd":1}\n');
  });
  const replies = raw.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(replies[0].ok, false);
  assert.match(replies[0].error, /bad request/);
  assert.match(replies[1].error, /"cmd" string/);

  await assert.rejects(startControlServer(path, async () => 1), /already running/);
  assert.deepEqual(await controlRequest(path, { cmd: 'still' }), { echo: 'still' }, 'the first daemon is undisturbed');
});

test('a client of a daemon that is not running gets a clear message', async () => {
  await assert.rejects(controlRequest('/nonexistent/ringbeat/x.sock', { cmd: 'status' }), /ringbeat is not running/);
});

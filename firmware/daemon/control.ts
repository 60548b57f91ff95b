// The local control socket: `ringbeat status|standby|takeover|...` talk to
// the running daemon over a Unix stream socket, one JSON request per line,
// one JSON reply per line. Only root (mode 0600) may connect.
//
// Bad clients (garbage, endless lines, hung connections) get an error reply
// or are disconnected; they never disturb the daemon.

import { chmodSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';

export interface ControlRequest {
  cmd: string;
  [arg: string]: unknown;
}

export type ControlReply = { ok: true; result: unknown } | { ok: false; error: string };

export type ControlHandler = (req: ControlRequest) => Promise<unknown>;

const MAX_REQUEST = 64 * 1024;
const IDLE_TIMEOUT_MS = 30_000;

export function socketPath(runDir: string, node: string): string {
  return join(runDir, `${node}.sock`);
}

/** Is a daemon answering on this socket? */
function probe(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startControlServer(path: string, handler: ControlHandler): Promise<Server> {
  try {
    mkdirSync(join(path, '..'), { recursive: true, mode: 0o755 });
  } catch (e) {
    throw new Error(`cannot create run directory for ${path}: ${(e as Error).message}`);
  }
  if (await probe(path)) {
    throw new Error(`another ringbeat daemon is already running for this node (it answers on ${path})`);
  }
  try {
    unlinkSync(path);
  } catch {
    // no stale socket
  }
  const server = createServer((sock) => serve(sock, handler));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  return server;
}

function serve(sock: Socket, handler: ControlHandler): void {
  let buf = '';
  sock.setEncoding('utf8');
  sock.setTimeout(IDLE_TIMEOUT_MS, () => sock.destroy());
  sock.on('error', () => undefined);
  sock.on('data', (chunk: string) => {
    buf += chunk;
    if (buf.length > MAX_REQUEST) {
      reply(sock, { ok: false, error: `request longer than ${MAX_REQUEST} bytes` });
      sock.end();
      buf = '';
      return;
    }
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) void handleLine(sock, line, handler);
    }
  });
}

async function handleLine(sock: Socket, line: string, handler: ControlHandler): Promise<void> {
  let req: ControlRequest;
  try {
    const parsed = JSON.parse(line) as unknown;
    if (!parsed || typeof parsed !== 'object' || typeof (parsed as ControlRequest).cmd !== 'string') {
      throw new Error('expected an object with a "cmd" string');
    }
    req = parsed as ControlRequest;
  } catch (e) {
    return reply(sock, { ok: false, error: `bad request: ${(e as Error).message}` });
  }
  try {
    reply(sock, { ok: true, result: await handler(req) });
  } catch (e) {
    reply(sock, { ok: false, error: (e as Error).message });
  }
}

function reply(sock: Socket, r: ControlReply): void {
  if (!sock.destroyed) sock.write(`${JSON.stringify(r)}\n`);
}

/** Client side: one request, one reply. */
export function controlRequest(path: string, req: ControlRequest, timeoutMs = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no reply from the daemon on ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      sock.destroy();
      try {
        const r = JSON.parse(buf.slice(0, nl)) as ControlReply;
        if (r.ok) resolve(r.result);
        else reject(new Error(r.error));
      } catch (e) {
        reject(new Error(`bad reply from the daemon: ${(e as Error).message}`));
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') {
        reject(new Error(`ringbeat is not running (no daemon listening on ${path})`));
      } else reject(new Error(`cannot reach the daemon on ${path}: ${e.message}`));
    });
  });
}

// Entry point of the heartbeat path process (`ringbeat __comm`, spawned by the
// daemon). It owns the media, the protocol engine and the liveness decisions,
// and does nothing else, so no resource script, status query, console session
// or garbage collection in the daemon can delay a heartbeat or a death
// decision. (A worker thread would be lighter, but serialport's native poller
// is bound to the main libuv loop and crashes when used from a worker: measured
// as SIGSEGV on the first read.)
//
// If the daemon goes away, the channel closes and this process exits at once:
// a heartbeat path that outlives its daemon would keep peers from taking over.

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SystemClock } from '../core/clock';
import { LogSink } from '../core/log';
import { createMedia } from '../media/create-media';
import { HaMessage } from '../wire/message';
import { Engine } from './engine';
import type { CommInit, FromComm, ToComm } from './ipc';
import { reviveFields } from './ipc';

const FLOORS_FILE = 'replay-floors.json';

function post(m: FromComm): void {
  if (process.connected) process.send?.(m);
}

export function runCommProcess(): void {
  if (!process.send) {
    process.stderr.write('ringbeat __comm is started by `ringbeat run`, not by hand\n');
    process.exit(2);
  }
  process.once('message', (m: ToComm) => {
    if (m.type !== 'init') {
      post({ type: 'fatal', error: `expected init, got ${m.type}` });
      process.exit(2);
    }
    start(m.init).catch((e: Error) => {
      post({ type: 'fatal', error: e.stack ?? String(e) });
      process.exit(1);
    });
  });
}

async function start(init: CommInit): Promise<void> {
  const { config } = init;
  const sink = new LogSink({
    ident: init.logIdent,
    logfile: config.log.logfile,
    debugfile: config.log.debugfile,
    facility: config.log.facility,
    debugLevel: config.log.debugLevel,
  });
  const log = sink.logger('comm');
  const clock = new SystemClock();

  // `ld` is informational: refresh it once a second off the hot path.
  let loadavg = '0.00 0.00 0.00 1/1 1';
  const refreshLoad = (): void =>
    void readFile('/proc/loadavg', 'latin1').then(
      (s) => (loadavg = s.split('\n')[0] ?? loadavg),
      () => undefined,
    );
  refreshLoad();
  const loadTimer = setInterval(refreshLoad, 1000);
  loadTimer.unref();

  const floorsPath = join(init.stateDir, FLOORS_FILE);
  let replayFloors: Record<string, number> | undefined;
  try {
    replayFloors = JSON.parse(await readFile(floorsPath, 'utf8')) as Record<string, number>;
  } catch {
    replayFloors = undefined;
  }

  const media = createMedia(config, { clock, log });
  const engine = new Engine({
    config,
    identity: { uuid: Buffer.from(init.uuid), generation: init.generation },
    clock,
    media,
    log,
    emit: (event) => post({ type: 'event', event }),
    deliver: (message) => post({ type: 'message', message }),
    loadavg: () => loadavg,
    replayFloors,
    persistFloors: (floors) => void writeFile(floorsPath, JSON.stringify(floors)).catch(() => undefined),
  });

  let stopping = false;
  const stop = async (graceful: boolean): Promise<void> => {
    if (stopping) return;
    stopping = true;
    if (graceful) {
      // Let the last messages (the daemon's `shutdone`) leave the paced
      // serial queues before the ports close.
      const bauds = config.media.flatMap((m) => (m.kind === 'serial' ? [m.baud] : []));
      const frameMs = bauds.length ? (400 * 10 * 1000) / Math.min(...bauds) : 0;
      await new Promise((r) => setTimeout(r, Math.max(50, 2 * frameMs)));
    }
    await engine.stop();
    await sink.close();
    process.exit(0);
  };

  process.on('message', (m: ToComm) => {
    switch (m.type) {
      case 'send':
        engine.send(new HaMessage(reviveFields(m.fields)));
        break;
      case 'snapshot':
        post({ type: 'snapshot', id: m.id, snapshot: engine.snapshot() });
        break;
      case 'stop':
        void stop(true);
        break;
    }
  });
  process.on('disconnect', () => void stop(false));
  // The daemon handles signals; a Ctrl-C in a terminal reaches the whole
  // process group, and the daemon will tell us to stop in order.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => void stop(true));

  engine.start();
  post({ type: 'ready' });
}

// A serialport binding that treats a hung-up line as a disconnect.
//
// Why: bindings-cpp's read() retries a read that returns 0 bytes, forever.
// A tty in raw non-blocking mode (VMIN=1) never returns 0 while it is alive:
// no data is EAGAIN. It returns 0 once the line was hung up (pty master gone,
// USB adapter unplugged after the kernel's vhangup): from then on every read
// returns 0 at once, so the stock binding spins through the libuv thread pool
// and the port never reports the loss. Whether a reader sees EIO (disconnect)
// or 0 (spin) depends on whether its read ran before or after the vhangup
// finished, so a loaded machine hit the spin. This binding reads the same way
// (read, on EAGAIN wait for the poller) but turns 0 bytes into a disconnect,
// so SerialPortStream closes with `disconnected: true` and the medium reopens.
//
// Everything else is delegated to LinuxBinding unchanged.

import { read as fsRead } from 'node:fs';
import type { SerialPortStream } from '@serialport/stream';
import { promisify } from 'node:util';
import {
  LinuxBinding,
  type LinuxOpenOptions,
  type LinuxPortBinding,
  type LinuxSetOptions,
  type BindingInterface,
  type BindingPortInterface,
  type PortInfo,
  type UpdateOptions,
} from '@serialport/bindings-cpp';

const readAsync = promisify(fsRead);

type FsRead = (fd: number, buffer: Buffer, offset: number, length: number) => Promise<{ bytesRead: number }>;

/** Error shape SerialPortStream understands: `canceled` ends quietly, anything else is a disconnect. */
function bindingError(message: string, extra: { canceled?: boolean; disconnect?: boolean; code?: string }): Error {
  return Object.assign(new Error(message), extra);
}

const RETRY = new Set(['EAGAIN', 'EWOULDBLOCK', 'EINTR']);

export class HangupAwarePort implements BindingPortInterface {
  constructor(
    private readonly inner: LinuxPortBinding,
    private readonly readFd: FsRead = (fd, b, o, l) => readAsync(fd, b, o, l, null),
  ) {}

  get openOptions(): LinuxPortBinding['openOptions'] {
    return this.inner.openOptions;
  }
  get isOpen(): boolean {
    return this.inner.isOpen;
  }

  async read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
    for (;;) {
      const fd = this.inner.fd;
      if (!this.inner.isOpen || fd === null) throw bindingError('Port is not open', { canceled: true });
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.readFd(fd, buffer, offset, length));
      } catch (e) {
        const err = e as NodeJS.ErrnoException & { disconnect?: boolean };
        if (!this.inner.isOpen) throw bindingError('Port is not open', { canceled: true });
        if (err.code !== undefined && RETRY.has(err.code)) {
          await this.readable();
          continue;
        }
        // EIO (hung up), ENXIO (device gone), EBADF (closed under us): the line is lost.
        err.disconnect = true;
        throw err;
      }
      if (bytesRead > 0) return { buffer, bytesRead };
      if (!this.inner.isOpen) throw bindingError('Port is not open', { canceled: true });
      throw bindingError('read returned end of file: the line was hung up', { disconnect: true, code: 'EIO' });
    }
  }

  private readable(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.inner.poller.once('readable', (err?: Error | null) => (err ? reject(err) : resolve()));
    });
  }

  close(): Promise<void> {
    return this.inner.close();
  }
  write(buffer: Buffer): Promise<void> {
    return this.inner.write(buffer);
  }
  update(options: UpdateOptions): Promise<void> {
    return this.inner.update(options);
  }
  set(options: LinuxSetOptions): Promise<void> {
    return this.inner.set(options);
  }
  get(): ReturnType<LinuxPortBinding['get']> {
    return this.inner.get();
  }
  getBaudRate(): Promise<{ baudRate: number }> {
    return this.inner.getBaudRate();
  }
  flush(): Promise<void> {
    return this.inner.flush();
  }
  drain(): Promise<void> {
    return this.inner.drain();
  }
}

/** LinuxBinding, with ports that report a hang-up instead of spinning on it. */
export const HangupAwareBinding: BindingInterface<HangupAwarePort, LinuxOpenOptions, PortInfo> = {
  list: () => LinuxBinding.list(),
  open: async (options: LinuxOpenOptions) => new HangupAwarePort(await LinuxBinding.open(options)),
};

/** A serialport stream over HangupAwareBinding: what SerialMedium (and the tests that mimic it) open. */
export type HangupAwareSerialPort = SerialPortStream<typeof HangupAwareBinding>;

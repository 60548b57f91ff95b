// Runs a command on the simulated board: in private mount + PID namespaces,
// with the FUSE sysfs-GPIO emulator mounted on /sys/class/gpio and/or the I2C
// simulator preloaded, and (for arm64) a private binfmt_misc instance that
// hands aarch64 ELF files to qemu-aarch64-static.
//
// Why binfmt_misc and not just `qemu-aarch64-static ringbeat`: the daemon
// re-executes itself for its heartbeat path child (execPath + `__comm`), and
// without binfmt the kernel cannot exec an aarch64 file (ENOEXEC). Since Linux
// 6.7 a user namespace can mount its OWN binfmt_misc instance, so the
// registration is private to the command and never touches the host's.
//
// The host's /sys stays untouched; everything vanishes with the namespaces.
// The PID namespace's init is the wrapper shell: when it dies, every process
// of the command dies with it (no strays after a SIGKILL of the test).

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SimArch, SimBinaries } from './build';

export interface SimRunOptions {
  arch: SimArch;
  binaries: SimBinaries;
  /** Mount the sysfs GPIO emulator; `trace` receives its change log. */
  gpio?: { trace?: string; log: string };
  /** Preload the I2C simulator with these devices, e.g. 'pcf8574@0x20,mcp23017@0x27'. */
  i2c?: { devices: string; bus?: number; stateFile?: string; logFile?: string };
}

export interface SimCommand {
  argv: string[];
  env: NodeJS.ProcessEnv;
}

/** Where Debian's cross toolchain keeps the aarch64 libraries (libc6-arm64-cross). */
export const AARCH64_SYSROOT = '/usr/aarch64-linux-gnu';
export const QEMU_AARCH64 = '/usr/bin/qemu-aarch64-static';

/** binfmt_misc registration for aarch64 ELF executables (as Debian's qemu-user-static has it), flag F: interpreter opened now. */
export const AARCH64_BINFMT =
  ':ringbeat-aarch64:M::\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00' +
  ':\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff' +
  `:${QEMU_AARCH64}:F`;

const SCRIPT = `set -eu
if [ -n "\${RB_BINFMT:-}" ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  printf '%s' "$RB_BINFMT" > /proc/sys/fs/binfmt_misc/register
fi
fuse_pid=
if [ -n "\${RB_GPIO_FUSE:-}" ]; then
  # sysfs refuses mkdir: without GPIOLIB there is no /sys/class/gpio to mount
  # on, so a small tmpfs takes /sys/class's place in this namespace.
  if [ ! -d /sys/class/gpio ]; then
    mount -t tmpfs -o mode=0755,size=64k ringbeat-sim /sys/class
    mkdir /sys/class/gpio
  fi
  "$RB_GPIO_FUSE" /sys/class/gpio -f -s -o fsname=ringbeat-gpio-sim 2>>"$RB_GPIO_LOG" &
  fuse_pid=$!
  i=0
  while [ ! -e /sys/class/gpio/export ]; do
    i=$((i + 1))
    if [ "$i" -gt 500 ]; then echo "sim-run: gpio-sysfs-fuse did not come up (log: $RB_GPIO_LOG)" >&2; exit 97; fi
    sleep 0.01
  done
fi
set +e
if [ -n "\${RB_PRELOAD:-}" ]; then env LD_PRELOAD="$RB_PRELOAD" "$@"; else "$@"; fi
rc=$?
if [ -n "$fuse_pid" ]; then kill "$fuse_pid"; wait "$fuse_pid"; fi
exit $rc
`;

export class SimPrerequisiteError extends Error {
  override name = 'SimPrerequisiteError';
}

function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** Throws with the apt-get line when something the simulated board needs is missing. */
export function requireSim(o: Pick<SimRunOptions, 'arch' | 'gpio'>): void {
  const missing: string[] = [];
  if (!hasCommand('unshare')) missing.push('util-linux');
  if (o.gpio && !existsSync('/dev/fuse')) throw new SimPrerequisiteError('the GPIO simulator needs /dev/fuse (kernel CONFIG_FUSE_FS) and apt-get install -y fuse3');
  if (o.arch === 'arm64') {
    if (!existsSync(QEMU_AARCH64)) missing.push('qemu-user-static');
    if (!existsSync(join(AARCH64_SYSROOT, 'lib', 'ld-linux-aarch64.so.1'))) missing.push('libc6-arm64-cross');
    if (!readFileSync('/proc/filesystems', 'utf8').includes('binfmt_misc')) {
      throw new SimPrerequisiteError('running arm64 programs needs binfmt_misc in the kernel (CONFIG_BINFMT_MISC)');
    }
  }
  if (missing.length) throw new SimPrerequisiteError(`the simulated board needs: apt-get install -y ${missing.join(' ')}`);
}

/** The command line and environment that run `cmd` on the simulated board. */
export function simCommand(cmd: readonly string[], o: SimRunOptions): SimCommand {
  const env: NodeJS.ProcessEnv = {};
  const ns = ['--mount', '--pid', '--fork', '--kill-child', '--mount-proc', '--propagation', 'private'];
  if (o.arch === 'arm64') {
    // A user namespace of our own: the only way to get a private binfmt_misc.
    ns.unshift('--user', '--map-root-user');
    env.RB_BINFMT = AARCH64_BINFMT;
    env.QEMU_LD_PREFIX = AARCH64_SYSROOT;
  }
  if (o.gpio) {
    env.RB_GPIO_FUSE = o.binaries.gpioFuse;
    env.RB_GPIO_LOG = o.gpio.log;
    if (o.gpio.trace) env.GPIO_SIM_TRACE = o.gpio.trace;
  }
  if (o.i2c) {
    env.RB_PRELOAD = o.binaries.i2cPreload;
    env.I2C_SIM = o.i2c.devices;
    if (o.i2c.bus !== undefined) env.I2C_SIM_BUS = String(o.i2c.bus);
    if (o.i2c.stateFile) env.I2C_SIM_STATE = o.i2c.stateFile;
    if (o.i2c.logFile) env.I2C_SIM_LOG = o.i2c.logFile;
  }
  return { argv: ['unshare', ...ns, '--', 'sh', '-c', SCRIPT, 'sim-run', ...cmd], env };
}

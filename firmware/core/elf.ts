// Which CPU an ELF file (executable or .node addon) is built for, named like
// process.arch. The native loader uses it to pass over a native/ folder meant
// for another architecture (dist/ holds the x64 and the arm64 executables side
// by side) instead of failing inside dlopen with "wrong ELF class".

import { closeSync, openSync, readSync } from 'node:fs';

/** e_machine values (elf.h) of the architectures ringbeat is built for. */
const MACHINES: Readonly<Record<number, string>> = {
  3: 'ia32', // EM_386
  40: 'arm', // EM_ARM
  62: 'x64', // EM_X86_64
  183: 'arm64', // EM_AARCH64
};

/**
 * The architecture named by an ELF header (its first 20 bytes), `unknown-<n>`
 * for a machine not in the table, undefined if it is not ELF at all.
 */
export function elfArch(header: Uint8Array): string | undefined {
  if (header.length < 20 || header[0] !== 0x7f || header[1] !== 0x45 || header[2] !== 0x4c || header[3] !== 0x46) return undefined;
  const littleEndian = header[5] === 1; // EI_DATA: 1 = ELFDATA2LSB, 2 = ELFDATA2MSB
  const machine = littleEndian ? header[18]! | (header[19]! << 8) : (header[18]! << 8) | header[19]!;
  return MACHINES[machine] ?? `unknown-${machine}`;
}

/** elfArch() of a file; undefined if it cannot be read or is not ELF. */
export function fileElfArch(file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const buf = Buffer.alloc(20);
    const n = readSync(fd, buf, 0, 20, 0);
    return elfArch(buf.subarray(0, n));
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

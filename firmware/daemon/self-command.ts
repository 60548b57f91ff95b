// How to start another instance of this very program (for the heartbeat path
// child): the single executable runs its embedded bundle with any arguments;
// a plain `node bundle.cjs` or a tsx run needs node, its flags and the script.

function isSea(): boolean {
  try {
    // node:sea exists from Node 20.12; outside an SEA isSea() is false.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('node:sea') as { isSea(): boolean }).isSea();
  } catch {
    return false;
  }
}

export function selfCommand(...args: string[]): string[] {
  if (isSea()) return [process.execPath, ...args];
  const script = process.argv[1];
  if (!script) throw new Error('cannot determine the ringbeat script path');
  return [process.execPath, ...process.execArgv, script, ...args];
}

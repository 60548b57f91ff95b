// Process entry (the bundle's and the single executable's main script).
import { NativeLoadError } from './core/native';
import { main } from './main';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    // A native addon that cannot be loaded is an installation problem whose
    // message says what to do; a stack trace would only bury it.
    process.stderr.write(`ringbeat: ${e instanceof NativeLoadError ? e.message : (e.stack ?? e)}\n`);
    process.exit(70);
  },
);

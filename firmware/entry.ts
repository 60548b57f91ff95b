// Process entry (the bundle's and the single executable's main script).
import { main } from './main';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`ringbeat: ${e.stack ?? e}\n`);
    process.exit(70);
  },
);

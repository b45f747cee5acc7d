// The selfplay command line, for tests that run it as a child process
// (`node bin/run-ts.js test/tournament/cli.ts serve ...`).
import { main } from '../../src/cli/main.ts';

process.exitCode = await main(process.argv);

import type { Command } from 'commander';
import { agentName } from '../../tournament/protocol.ts';
import { Store } from '../../tournament/store.ts';
import { ConfigError } from '../../core/index.ts';
import { printJson, type CliIO } from '../output.ts';

const DEFAULT_DB = 'selfplay.db';

function withStore<T>(path: string, use: (store: Store) => T, { mustExist = false } = {}): T {
  const store = new Store(path, 'normal', { mustExist });
  try {
    return use(store);
  } finally {
    store.close();
  }
}

export function registerAgents(program: Command, io: CliIO): void {
  const agents = program.command('agents').description('agents of a tournament server: register them and issue their tokens');
  agents
    .command('add')
    .description('register an agent and print its token (shown once; only its hash is stored)')
    .argument('<name>', 'letters, digits, "_", "." or "-"')
    .option('--db <file>', 'the server database', DEFAULT_DB)
    .option('--json', 'print {"name": ..., "token": ...}')
    .action((name: string, options: { db: string; json?: boolean }) => {
      const checked = agentName.safeParse(name);
      if (!checked.success) throw new ConfigError(`bad agent name "${name}": ${checked.error.issues[0].message}`);
      const token = withStore(options.db, (store) => store.addAgent(name));
      if (options.json) return printJson(io, { name, token });
      io.out(`agent ${name} added to ${options.db}\ntoken: ${token}\n(keep it secret: it is shown only now; connect with \`selfplay connect <url> --token <token> --agent <spec>\`)`);
    });
  agents
    .command('list')
    .description('list the registered agents')
    .option('--db <file>', 'the server database', DEFAULT_DB)
    .option('--json', 'print a JSON array')
    .action((options: { db: string; json?: boolean }) => {
      // Listing a database that is not there (a typo) says so rather than creating an empty one.
      const list = withStore(options.db, (store) => store.agents(), { mustExist: true });
      if (options.json) return printJson(io, list);
      io.out(list.length ? list.map((a) => `${a.name}  (added ${a.createdAt})`).join('\n') : `no agents in ${options.db}`);
    });
}

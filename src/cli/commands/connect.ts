import type { Command } from 'commander';
import { agentKinds, createPlayer } from '../../../agents/index.ts';
import { createGame } from '../../../games/index.ts';
import { ConfigError, parseSpec } from '../../core/index.ts';
import type { Agent } from '../../runtime/agent.ts';
import { connect } from '../../tournament/connector.ts';
import type { CliIO } from '../output.ts';

interface ConnectCliOptions {
  token?: string;
  agent: string;
  version: string;
  msgpack?: boolean;
  maxAttempts?: string;
}

export function registerConnect(program: Command, io: CliIO): void {
  program
    .command('connect')
    .description('play an agent on a tournament server until interrupted, reconnecting when the connection drops')
    .argument('<url>', 'the server, e.g. http://127.0.0.1:8080')
    .option('--token <token>', 'the agent token from `selfplay agents add` (default: $SELFPLAY_TOKEN)')
    .requiredOption('--agent <spec>', `the policy to play: ${Object.keys(agentKinds).join(', ')} (with options: mcts:iterations=N, tabular:policy=FILE, llm:model=NAME,base=URL)`)
    .option('--version <version>', 'the policy version, rated apart from other versions', '1')
    .option('--msgpack', 'use msgpack frames instead of JSON')
    .option('--max-attempts <n>', 'give up after N connection attempts in a row that fail (default: keep trying)')
    .action(async (url: string, options: ConnectCliOptions) => {
      const token = options.token ?? process.env.SELFPLAY_TOKEN;
      if (!token) throw new ConfigError('give the agent token with --token or $SELFPLAY_TOKEN');
      const { kind } = parseSpec(options.agent);
      if (!agentKinds[kind]) throw new ConfigError(`unknown agent "${kind}"; agents: ${Object.keys(agentKinds).join(', ')}`);
      const maxAttempts = options.maxAttempts === undefined ? undefined : Number(options.maxAttempts);
      if (maxAttempts !== undefined && !(Number.isInteger(maxAttempts) && maxAttempts >= 1)) throw new ConfigError(`--max-attempts is a whole number of at least 1, got ${options.maxAttempts}`);
      // One agent per game the server asks for (most agents need the game to be built).
      const agents = new Map<string, Agent>();
      /** Why the spec cannot play a game the server asked for: the client stops rather than fail match after match. */
      let unplayable: string | undefined;
      const client = connect(
        url,
        token,
        {
          forMatch: (start) => {
            const key = JSON.stringify([start.game, start.params]);
            let agent = agents.get(key);
            if (!agent) {
              try {
                agent = createPlayer(options.agent, createGame(start.game, start.params)).agent;
              } catch (error) {
                unplayable ??= `${options.agent} cannot play ${start.game}: ${(error as Error).message}`;
                // After this match has been told (it ends with outcome error), not before.
                setImmediate(() => void client.close());
                throw error;
              }
              agents.set(key, agent);
            }
            return agent;
          },
        },
        {
          version: options.version,
          format: options.msgpack ? 'msgpack' : 'json',
          ...(maxAttempts === undefined ? {} : { maxAttempts }),
          onStatus: (status) => {
            if (status.state === 'ready') io.err(`connected as ${status.welcome.agent}@${status.welcome.version}`);
            if (status.state === 'disconnected') io.err(`disconnected (${status.reason}); retrying in ${Math.round(status.retryInMs ?? 0)} ms`);
          },
          onServerError: (error) => io.err(`server: ${error.code ?? 'error'}: ${error.message}`),
        },
      );
      const stop = () => void client.close();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const reason = await client.closed;
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      if (unplayable) throw new ConfigError(`stopped: ${unplayable}`);
      if (reason !== 'closed by the client') throw new ConfigError(`stopped: ${reason}`);
    });
}

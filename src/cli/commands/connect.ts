import type { Command } from 'commander';
import { Observable, ReplaySubject, type Subscription } from 'rxjs';
import { agentKinds, createPlayer } from '../../../agents/index.ts';
import { createGame } from '../../../games/index.ts';
import { ConfigError, parseSpec, type Game } from '../../core/index.ts';
import type { Agent } from '../../runtime/agent.ts';
import type { FromAgent, StartMessage, ToAgent } from '../../runtime/messages.ts';
import { connect } from '../../tournament/connector.ts';
import { loadGame } from '../load-game.ts';
import type { CliIO } from '../output.ts';

interface ConnectCliOptions {
  token?: string;
  agent: string;
  version: string;
  msgpack?: boolean;
  maxAttempts?: string;
  game: string[];
}

/** A game module given with --game: the path, and the game it makes without parameters. */
interface ModuleGame {
  readonly ref: string;
  readonly game: Game;
}

/**
 * An agent whose making waits for a promise (a game module built with the
 * match's parameters): the match's messages wait for it in order.
 */
function deferredAgent(made: Promise<Agent>): Agent {
  return (inbox) =>
    new Observable<FromAgent>((subscriber) => {
      const waiting = new ReplaySubject<ToAgent>();
      const feeding = inbox.subscribe(waiting);
      let playing: Subscription | undefined;
      let closed = false;
      made.then(
        (agent) => {
          if (!closed) playing = agent(waiting.asObservable()).subscribe(subscriber);
        },
        (error) => subscriber.error(error),
      );
      return () => {
        closed = true;
        feeding.unsubscribe();
        playing?.unsubscribe();
      };
    });
}

const sameParams = (a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>) => {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => JSON.stringify(a[k]) === JSON.stringify(b[k]));
};

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
    .option(
      '--game <path>',
      'a game module the server may play (./my-game.ts, exporting a game or a function making one): matches of its game id are played with it, built with the parameters the server sends; repeat for several',
      (value: string, all: string[]) => [...all, value],
      [],
    )
    .action(async (url: string, options: ConnectCliOptions) => {
      const token = options.token ?? process.env.SELFPLAY_TOKEN;
      if (!token) throw new ConfigError('give the agent token with --token or $SELFPLAY_TOKEN');
      const { kind } = parseSpec(options.agent);
      if (!agentKinds[kind]) throw new ConfigError(`unknown agent "${kind}"; agents: ${Object.keys(agentKinds).join(', ')}`);
      const maxAttempts = options.maxAttempts === undefined ? undefined : Number(options.maxAttempts);
      if (maxAttempts !== undefined && !(Number.isInteger(maxAttempts) && maxAttempts >= 1)) throw new ConfigError(`--max-attempts is a whole number of at least 1, got ${options.maxAttempts}`);
      // Game modules, loaded before connecting: a module that cannot load is the user's to fix now, not in a match.
      const modules = new Map<string, ModuleGame>();
      for (const ref of options.game) {
        const game = await loadGame(ref);
        const other = modules.get(game.id);
        if (other) throw new ConfigError(`--game ${ref} and --game ${other.ref} both make the game ${game.id}; give one`);
        modules.set(game.id, { ref, game });
      }
      // One agent per game the server asks for (most agents need the game to be built).
      const agents = new Map<string, Agent>();
      /** Why the spec cannot play a game the server asked for: the client stops rather than fail match after match. */
      let unplayable: string | undefined;
      const cannotPlay = (start: StartMessage, error: unknown) => {
        const message = (error as Error).message;
        // Not built in: a game of the user's own, whose module the client was not given.
        const hint = /^unknown game /.test(message) ? '; for a game of your own, give its module with --game PATH' : '';
        unplayable ??= `${options.agent} cannot play ${start.game}: ${message}${hint}`;
        // After this match has been told (it ends with outcome error), not before.
        setImmediate(() => void client.close());
      };
      /** The agent for a game: a module given with --game (its game as loaded, or made again with the server's parameters), else a built-in game. */
      const agentFor = (start: StartMessage): Agent => {
        const module = modules.get(start.game);
        if (!module) return createPlayer(options.agent, createGame(start.game, start.params)).agent;
        if (sameParams(module.game.params, start.params)) return createPlayer(options.agent, module.game).agent;
        const made = loadGame(module.ref, start.params).then((game) => createPlayer(options.agent, game).agent);
        made.catch((error) => cannotPlay(start, error));
        return deferredAgent(made);
      };
      const client = connect(
        url,
        token,
        {
          forMatch: (start) => {
            const key = JSON.stringify([start.game, start.params]);
            let agent = agents.get(key);
            if (!agent) {
              try {
                agent = agentFor(start);
              } catch (error) {
                cannotPlay(start, error);
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

import { Subject } from 'rxjs';
import { IllegalActionError, ParseError, Rng, sameAction, sampleChance, type Game } from '../core/index.ts';
import { buildEpisode } from '../episodes/build.ts';
import type { Episode, EpisodeStep } from '../episodes/episode.ts';
import type { Player } from './agent.ts';
import { INVALID_MOVE_PRESETS, type InvalidMovePolicy } from './invalid-moves.ts';
import { Mailbox, type Reply } from './mailbox.ts';
import { PROTOCOL_VERSION, type EventMessage, type Outcome, type ToAgent } from './messages.ts';

export interface MatchOptions {
  readonly game: Game;
  /** One player per seat, in seat order. */
  readonly players: readonly Player[];
  readonly seed: number;
  readonly matchId: string;
  /** Default `eval`: the first invalid move loses. */
  readonly invalidMoves?: InvalidMovePolicy;
  /** Milliseconds a seat has for each reply, as its turn message says (default 60 s). */
  readonly turnTimeoutMs?: number;
  /** How much longer the referee waits than the turn message says, for the trip over a network (default 0). */
  readonly turnGraceMs?: number;
  /** Decision turns after which the match stops as a draw (`truncated`); default: none. */
  readonly maxTurns?: number;
  /** Record milliseconds per step and the start time (makes episodes differ run to run). */
  readonly timing?: boolean;
  readonly signal?: AbortSignal;
  /** Public events as they happen, for spectators. */
  readonly onEvent?: (event: EventMessage) => void;
}

interface Ending {
  readonly outcome: Outcome;
  readonly returns: readonly number[];
  readonly reason?: string;
  readonly offender?: number;
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Each game's rules text per seat, made once: a match start sends it to
 * every seat, and one string for all matches is one fewer (long) string per
 * seat for the collector to copy while the match lasts.
 */
const rulesTexts = new WeakMap<Game, string[]>();

function rulesFor(game: Game, seat: number): string {
  let texts = rulesTexts.get(game);
  if (!texts) rulesTexts.set(game, (texts = []));
  return (texts[seat] ??= game.rules(seat));
}

/** One match listening to a signal, and where it is in the signal's list. */
interface AbortEntry {
  readonly listener: () => void;
  index: number;
}

/**
 * The matches listening to each signal. Many matches share one (a tournament's, an arena run's).
 * An array, each entry knowing its index (removal moves the last entry into its place), and not a
 * Set: a Set that matches keep joining and leaving rebuilds its table every few matches, and each
 * table it leaves behind points to the next one. Once the collector happens to promote one
 * of them, every later table (with the matches it holds) is promoted too, until a full
 * collection: a Kuhn poker arena then spent more time collecting garbage than playing.
 */
const abortListeners = new WeakMap<AbortSignal, AbortEntry[]>();

/** How many matches listen to `signal` now (for tests: a match that ended must have left). */
export function abortListenerCount(signal: AbortSignal): number {
  return abortListeners.get(signal)?.length ?? 0;
}

/**
 * Calls `listener` once `signal` aborts; returns what stops that. The signal
 * gets one listener of its own however many matches share it: Node's
 * AbortSignal walks its whole list at every registration.
 */
function onAbort(signal: AbortSignal, listener: () => void): () => void {
  let listeners = abortListeners.get(signal);
  if (!listeners) {
    const all: AbortEntry[] = [];
    abortListeners.set(signal, (listeners = all));
    signal.addEventListener('abort', () => all.slice().forEach((entry) => entry.listener()), { once: true });
  }
  const list = listeners;
  const entry: AbortEntry = { listener, index: list.length };
  list.push(entry);
  return () => {
    if (list[entry.index] !== entry) return;
    const last = list.pop()!;
    if (last !== entry) {
      list[entry.index] = last;
      last.index = entry.index;
    }
  };
}

/**
 * Referees one match: sends each seat its turn, waits for the reply within the
 * deadline, parses and validates it, applies the invalid-move policy, samples
 * chance with the match's seeded generator, and records every step. Results
 * come only from the game's own returns, never from an agent.
 */
export async function playMatch(options: MatchOptions): Promise<Episode> {
  const { game, players, seed, matchId, signal, onEvent } = options;
  if (players.length !== game.seats) throw new RangeError(`${game.id} needs ${game.seats} players, got ${players.length}`);
  const policy = options.invalidMoves ?? INVALID_MOVE_PRESETS.eval;
  const timeoutMs = options.turnTimeoutMs ?? 60_000;
  const waitMs = timeoutMs + (options.turnGraceMs ?? 0);
  const maxTurns = options.maxTurns ?? Infinity;
  const startedAt = options.timing ? new Date().toISOString() : undefined;
  const clockStart = performance.now();

  const rng = new Rng(seed);
  const chanceRng = rng.split('chance');
  const inboxes = players.map(() => new Subject<ToAgent>());
  const mailboxes = players.map((player, seat) => new Mailbox(player.agent(inboxes[seat].asObservable())));
  const abort = () => {
    for (const mailbox of mailboxes) mailbox.abort(signal!.reason);
  };
  if (signal?.aborted) abort();
  const stopListening = signal && !signal.aborted ? onAbort(signal, abort) : undefined;
  const broadcast = (message: ToAgent) => {
    for (const inbox of inboxes) inbox.next(message);
  };

  const steps: EpisodeStep[] = [];
  const history: unknown[] = [];
  const stepOf = players.map(() => 0);
  const roles = players.map((p) => (p.role ? { role: p.role } : {}));
  let state = game.initial();
  let decisions = 0;

  const forfeit = (seat: number, outcome: Outcome, reason: string): Ending => ({
    outcome,
    reason,
    offender: seat,
    returns: players.map((_, s) => (s === seat ? policy.offender : policy.others)),
  });

  const play = async (): Promise<Ending> => {
    for (;;) {
      const turn = game.turn(state);
      if (turn === 'terminal') return { outcome: 'normal', returns: game.returns(state) };
      if (turn === 'chance') {
        const action = sampleChance(game.chanceOutcomes(state), chanceRng);
        steps.push({ seat: 'chance', action: game.actionText(state, action), parsed: action, valid: true });
        state = game.apply(state, action);
        history.push(action);
        emit({ type: 'event', v: PROTOCOL_VERSION, matchId, actor: 'chance' });
        continue;
      }
      if (++decisions > maxTurns) return { outcome: 'truncated', returns: players.map(() => 0), reason: `stopped after ${maxTurns} turns` };

      const legal = game.legalActions(state);
      const open = legal.length === 0 && game.openTurn?.(state) === true;
      const legalTexts = legal.map((a) => game.actionText(state, a));
      const role = roles[turn];
      const observation = game.observationText(state, turn);
      const view = {
        observation: game.observe(state, turn),
        infoKey: game.infoKey(state, turn),
        ...(game.perfectInformation ? { history: history.slice() } : {}),
      };
      /** At an open turn of a game that scores failures itself, the seat's failure becomes its action. */
      const substitute = open && game.failedTurnAction
        ? (reason: string) => {
            const action = game.failedTurnAction!(state, reason);
            const actionText = game.actionText(state, action);
            steps.push({ seat: turn, ...role, observation, infoKey: view.infoKey, action: actionText, parsed: action, valid: true, error: reason });
            state = game.apply(state, action);
            history.push(action);
            emit({ type: 'event', v: PROTOCOL_VERSION, matchId, actor: turn, action: actionText });
          }
        : undefined;
      let retry: { attempt: number; error: string; reply: string } | undefined;
      for (let attempt = 0; ; attempt++) {
        const step = stepOf[turn]++;
        const sentAt = performance.now();
        inboxes[turn].next({ type: 'turn', v: PROTOCOL_VERSION, matchId, step, seat: turn, observation, legal: legalTexts, view, timeoutMs, ...(retry ? { retry } : {}) });
        const reply: Reply = mailboxes[turn].take(step, sentAt) ?? (await mailboxes[turn].wait(step, sentAt, waitMs));
        if (reply.kind === 'timeout') {
          if (substitute) {
            substitute(`no reply within ${waitMs} ms`);
            break;
          }
          steps.push({ seat: turn, ...role, observation, action: '', valid: false, error: `no reply within ${waitMs} ms` });
          return forfeit(turn, 'timeout', `seat ${turn} (${players[turn].name}) did not answer within ${waitMs} ms`);
        }
        if (reply.kind === 'crashed') {
          if (substitute) {
            substitute(`the agent failed: ${reply.reason}`);
            break;
          }
          // The turn was sent and failed: a step, as a timeout is (a tournament records a disconnection on it).
          steps.push({ seat: turn, ...role, observation, infoKey: view.infoKey, action: '', valid: false, error: reply.reason });
          return forfeit(turn, 'forfeit', `seat ${turn} (${players[turn].name}): ${reply.reason}`);
        }
        if (reply.kind === 'error') {
          return { outcome: 'error', returns: players.map(() => 0), reason: `seat ${turn} (${players[turn].name}) reported an error: ${reply.message.message}`, offender: turn };
        }

        const ms = options.timing ? Math.round(reply.ms * 1000) / 1000 : undefined;
        const text = reply.kind === 'action' ? reply.message.action : '';
        const meta = reply.kind === 'action' ? reply.message.meta : undefined;
        let error: string;
        if (reply.kind === 'invalid') {
          error = reply.error;
        } else {
          try {
            // A reply that is exactly a legal action's text is that action (an action's written form reads back
            // as itself, as \`selfplay check\` verifies): only free text needs the game's parser.
            const exact = open ? -1 : legalTexts.indexOf(text);
            const action = exact >= 0 ? legal[exact] : game.parseAction(state, text);
            const index = exact >= 0 ? exact : open ? -1 : legal.findIndex((l) => sameAction(l, action));
            if (!open && index < 0) throw new IllegalActionError(`that action is not legal now; legal: ${legalTexts.join(' ')}`);
            const actionText = open ? game.actionText(state, action) : legalTexts[index];
            steps.push({ seat: turn, ...role, observation, infoKey: view.infoKey, action: actionText, parsed: action, valid: true, ...(ms === undefined ? {} : { ms }), ...(meta ? { meta } : {}) });
            state = game.apply(state, action);
            history.push(action);
            emit({ type: 'event', v: PROTOCOL_VERSION, matchId, actor: turn, action: actionText });
            break;
          } catch (caught) {
            if (!(caught instanceof ParseError || caught instanceof IllegalActionError)) throw caught;
            error = caught.message;
          }
        }
        steps.push({ seat: turn, ...role, observation, infoKey: view.infoKey, action: text, valid: false, error, ...(ms === undefined ? {} : { ms }), ...(meta ? { meta } : {}) });
        if (attempt >= policy.retries) {
          if (substitute) {
            substitute(`unreadable reply: ${error}`);
            break;
          }
          return forfeit(turn, 'forfeit', `seat ${turn} (${players[turn].name}) made an invalid move: ${error}`);
        }
        retry = { attempt: attempt + 1, error, reply: text };
      }
    }
  };

  const emit = (event: EventMessage) => {
    broadcast(event);
    onEvent?.(event);
  };

  try {
    players.forEach((player, seat) => {
      inboxes[seat].next({
        type: 'start',
        v: PROTOCOL_VERSION,
        matchId,
        game: game.id,
        params: { ...game.params },
        seat,
        seats: game.seats,
        seed: rng.split(`seat ${seat}`).nextUint32(),
        rules: rulesFor(game, seat),
      });
    });
    let ending: Ending;
    try {
      ending = await play();
    } catch (error) {
      if (signal?.aborted) throw error;
      ending = { outcome: 'error', returns: players.map(() => 0), reason: `the referee failed: ${errorText(error)}` };
    }
    broadcast({ type: 'end', v: PROTOCOL_VERSION, matchId, returns: [...ending.returns], outcome: ending.outcome, ...(ending.reason ? { reason: ending.reason } : {}) });
    return buildEpisode({
      id: matchId,
      game,
      seed,
      players: players.map((p, seat) => ({ seat, name: p.name, ...(p.role ? { role: p.role } : {}), ...(p.policy ? { policy: p.policy } : {}) })),
      steps,
      history,
      ...ending,
      ...(startedAt ? { startedAt, durationMs: Math.round((performance.now() - clockStart) * 1000) / 1000 } : {}),
    });
  } finally {
    stopListening?.();
    for (const inbox of inboxes) inbox.complete();
    for (const mailbox of mailboxes) mailbox.close();
  }
}

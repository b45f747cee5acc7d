import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { Observable } from 'rxjs';
import { normalizeActionText } from '../src/core/index.ts';
import type { Agent } from '../src/runtime/agent.ts';
import { PROTOCOL_VERSION, type EndMessage, type FromAgent, type TurnMessage } from '../src/runtime/messages.ts';

export interface HumanOptions {
  /** Where the human types (default process.stdin). */
  readonly input?: Readable;
  /** Where the game is shown (default process.stdout). */
  readonly output?: Writable;
}

/**
 * A human at a terminal. Shows the rules once, then on each turn the
 * observation and the numbered legal actions, and reads one line: a number
 * from the list picks that action, anything else is sent as typed for the
 * referee to parse. Lines typed ahead are kept for the next turns, so moves
 * can be piped in. The terminal is released when the match ends.
 */
export function humanAgent(options: HumanOptions = {}): Agent {
  return (inbox) =>
    new Observable<FromAgent>((subscriber) => {
      const input = options.input ?? process.stdin;
      const output = options.output ?? process.stdout;
      const print = (text: string) => output.write(`${text}\n`);
      const lines = createInterface({ input, terminal: false });
      const typed: string[] = [];
      let waiting: TurnMessage | null = null;
      let inputClosed = false;
      let seat = -1;
      let done = false;

      const answer = (turn: TurnMessage, line: string) => {
        // What the game itself calls an action wins: in tic-tac-toe "4" is cell [4], not the 4th item listed.
        const isActionText = turn.legal.some((text) => normalizeActionText(text) === normalizeActionText(line));
        const number = /^\d+$/.test(line) && !isActionText ? Number(line) : NaN;
        const action = number >= 1 && number <= turn.legal.length ? turn.legal[number - 1] : line;
        subscriber.next({ type: 'action', v: PROTOCOL_VERSION, matchId: turn.matchId, step: turn.step, action });
      };
      const next = () => {
        if (!waiting) return;
        const line = typed.shift();
        if (line !== undefined) {
          const turn = waiting;
          waiting = null;
          answer(turn, line);
        } else if (inputClosed) {
          subscriber.error(new Error('the human player left: input closed before a move was chosen'));
        }
      };
      const finish = () => {
        done = true;
        lines.close();
      };

      lines.on('line', (line) => {
        const text = line.trim();
        if (!text) return;
        typed.push(text);
        next();
      });
      lines.on('close', () => {
        inputClosed = true;
        if (!done) next();
      });

      const subscription = inbox.subscribe({
        next: (message) => {
          switch (message.type) {
            case 'start':
              seat = message.seat;
              print(`${message.game}: you are seat ${message.seat} of ${message.seats}.\n${message.rules}`);
              return;
            case 'turn':
              print(turnText(message));
              waiting = message;
              next();
              return;
            case 'event':
              if (message.actor !== seat) print(message.actor === 'chance' ? 'Chance acts.' : `Seat ${message.actor} plays ${message.action ?? '(hidden)'}.`);
              return;
            case 'end':
              print(endText(message, seat));
              finish();
              return;
            case 'error':
              print(`Match error: ${message.message}`);
              finish();
              return;
          }
        },
        error: (error) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      return () => {
        subscription.unsubscribe();
        finish();
      };
    });
}

function turnText(turn: TurnMessage): string {
  const parts: string[] = [];
  if (turn.retry) parts.push(`Your answer "${turn.retry.reply}" was not accepted (attempt ${turn.retry.attempt}): ${turn.retry.error}`);
  parts.push(turn.observation, 'Legal actions:');
  turn.legal.forEach((action, i) => parts.push(`  ${i + 1}. ${action}`));
  parts.push(`Your move: type the action (e.g. ${turn.legal[0]}) or its number in this list.`);
  return parts.join('\n');
}

function endText(end: EndMessage, seat: number): string {
  const mine = end.returns[seat];
  const verdict = end.returns.every((r) => r === mine) ? 'Draw.' : mine === Math.max(...end.returns) ? 'You won.' : 'You lost.';
  const returns = end.returns.map((r, s) => `seat ${s} ${r > 0 ? '+' : ''}${r}`).join(', ');
  const how = end.outcome === 'normal' ? '' : ` (${end.outcome}${end.reason ? `: ${end.reason}` : ''})`;
  return `Game over${how}. ${verdict} Returns: ${returns}`;
}

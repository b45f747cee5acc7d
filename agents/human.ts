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

/** Where an action text is itself a number (tic-tac-toe's `[4]`), list items are picked as `#N`. */
const numericTexts = (turn: TurnMessage) => turn.legal.some((text) => /^\d+$/.test(normalizeActionText(text)));

/** The legal action a typed line names, or undefined: the action's text, or `#N` (or plain `N` where no text is a number) for the N-th listed. */
export function chosenAction(turn: TurnMessage, line: string): string | undefined {
  const typed = normalizeActionText(line);
  const named = turn.legal.find((text) => normalizeActionText(text) === typed);
  if (named !== undefined) return named;
  const item = /^#\s*(\d+)$/.exec(line) ?? (numericTexts(turn) ? null : /^(\d+)$/.exec(line));
  return item ? turn.legal[Number(item[1]) - 1] : undefined;
}

/**
 * A human at a terminal. Shows the rules once, then on each turn the
 * observation and the numbered legal actions, and reads lines until one names
 * a legal action (its text, or its number in the list); a typo is answered
 * with the choices and another try, never sent as a move. Lines typed ahead
 * are kept for the next turns, so moves can be piped in. The terminal is
 * released when the match ends.
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

      const next = () => {
        while (waiting) {
          const line = typed.shift();
          if (line === undefined) break;
          const action = chosenAction(waiting, line);
          if (action === undefined) {
            print(`"${line}" is not a legal action here. ${choiceHint(waiting)}`);
            continue;
          }
          const turn = waiting;
          waiting = null;
          subscriber.next({ type: 'action', v: PROTOCOL_VERSION, matchId: turn.matchId, step: turn.step, action });
        }
        if (waiting && inputClosed) {
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
  parts.push(`Your move: ${choiceHint(turn)}`);
  return parts.join('\n');
}

function choiceHint(turn: TurnMessage): string {
  return `type the action (e.g. ${turn.legal[0]}) or ${numericTexts(turn) ? '#N for the N-th' : 'its number'} in this list.`;
}

function endText(end: EndMessage, seat: number): string {
  const mine = end.returns[seat];
  const verdict = end.returns.every((r) => r === mine) ? 'Draw.' : mine === Math.max(...end.returns) ? 'You won.' : 'You lost.';
  const returns = end.returns.map((r, s) => `seat ${s} ${r > 0 ? '+' : ''}${r}`).join(', ');
  const how = end.outcome === 'normal' ? '' : ` (${end.outcome}${end.reason ? `: ${end.reason}` : ''})`;
  return `Game over${how}. ${verdict} Returns: ${returns}`;
}

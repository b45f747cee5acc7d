/**
 * The line that lists a turn's legal actions in a prompt: `Valid actions: [check], [bet]`.
 * The llm agent's default prompts write it and the stub server reads it back,
 * so both sides agree on one fixed format.
 */
export const VALID_ACTIONS_PREFIX = 'Valid actions: ';

export function validActionsLine(legal: readonly string[]): string {
  return VALID_ACTIONS_PREFIX + legal.join(', ');
}

/**
 * The actions listed on the last `Valid actions:` line of `text`, or null when
 * there is none. Bracketed actions are split by bracket depth, so action texts
 * such as `[[1, 2]]` or `[{"a": 1}]` survive; anything else is split on ", ".
 */
export function readValidActions(text: string): string[] | null {
  const newline = text.lastIndexOf(`\n${VALID_ACTIONS_PREFIX}`);
  const at = newline >= 0 ? newline + 1 : text.startsWith(VALID_ACTIONS_PREFIX) ? 0 : -1;
  if (at < 0) return null;
  const end = text.indexOf('\n', at);
  const line = text.slice(at + VALID_ACTIONS_PREFIX.length, end < 0 ? text.length : end).trim();
  if (!line) return [];
  return bracketGroups(line) ?? line.split(', ');
}

/** `[a], [b [c]]` as its top-level bracket groups, or null unless the line is exactly such groups separated by ", ". */
function bracketGroups(line: string): string[] | null {
  const groups: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (depth === 0) {
      if (ch === '[') {
        const separator = line.slice(start, i);
        if (groups.length === 0 ? separator !== '' : separator !== ', ') return null;
        start = i;
        depth = 1;
      }
      continue;
    }
    if (ch === '[') depth++;
    else if (ch === ']' && --depth === 0) {
      groups.push(line.slice(start, i + 1));
      start = i + 1;
    }
  }
  return depth === 0 && start === line.length && groups.length > 0 ? groups : null;
}

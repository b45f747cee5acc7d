/**
 * Reading actions out of free text. Models are asked to end with `\boxed{...}`
 * (SPIRAL) or to write actions in brackets (TextArena); the last such marker wins.
 */

/** The content of the last `\boxed{...}` or `[...]` in the text, or null when there is none. */
export function extractAnswer(text: string): string | null {
  let best: { end: number; content: string } | null = null;
  const consider = (end: number, content: string) => {
    if (!best || end > best.end) best = { end, content };
  };

  // One pass with a stack of open \boxed{ groups, so nested or unclosed groups stay linear.
  const groups: { start: number; depth: number }[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '{') {
      depth++;
      if (i >= 6 && text.startsWith('\\boxed', i - 6)) groups.push({ start: i + 1, depth });
    } else if (ch === '}' && depth > 0) {
      const top = groups[groups.length - 1];
      if (top && top.depth === depth) {
        groups.pop();
        consider(i + 1, text.slice(top.start, i));
      }
      depth--;
    }
  }

  const close = text.lastIndexOf(']');
  const open = close < 0 ? -1 : text.lastIndexOf('[', close);
  if (open >= 0) consider(close + 1, text.slice(open, close + 1));
  return best === null ? null : (best as { content: string }).content.trim();
}

/** The answer if the text marks one, else the whole text. */
export function candidateText(text: string): string {
  return extractAnswer(text) ?? text;
}

/** Lower case, single spaces, no surrounding brackets: how action texts are compared. */
export function normalizeActionText(text: string): string {
  let t = text.trim();
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  return t.trim().replace(/\s+/g, ' ').toLowerCase();
}

/**
 * Linear-time readers for the markup roles answer in: XML-like tags and
 * Markdown code fences. Regular expressions here never nest quantifiers, so
 * adversarial text cannot make them backtrack.
 */

/** The content of the last `<tag>...</tag>` (tag names ignore case), or null. */
export function lastTag(text: string, tag: string): string | null {
  let close = -1;
  for (const m of text.matchAll(new RegExp(`</${tag}\\s*>`, 'gi'))) close = m.index;
  if (close < 0) return null;
  let contentStart = -1;
  for (const m of text.matchAll(new RegExp(`<${tag}\\s*>`, 'gi'))) {
    if (m.index >= close) break;
    contentStart = m.index + m[0].length;
  }
  return contentStart < 0 ? null : text.slice(contentStart, close);
}

export interface TagToken {
  readonly name: string;
  readonly closing: boolean;
  readonly start: number;
  readonly end: number;
}

/** Every opening and closing tag of the given names, in order of appearance, names in lower case. */
export function tagTokens(text: string, names: readonly string[]): TagToken[] {
  const pattern = new RegExp(`<(/?)(${names.join('|')})\\s*>`, 'gi');
  return [...text.matchAll(pattern)].map((m) => ({ name: m[2].toLowerCase(), closing: m[1] === '/', start: m.index, end: m.index + m[0].length }));
}

export interface CodeBlock {
  /** The fence's info string, lower case (`python`, `input`, or empty). */
  readonly language: string;
  readonly body: string;
}

/** The fenced code blocks (```lang ... ```) in order; an unclosed fence runs to the end of the text. */
export function codeBlocks(text: string): CodeBlock[] {
  const fences = [...text.matchAll(/```/g)].map((m) => m.index);
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < fences.length; i += 2) {
    const open = fences[i] + 3;
    const close = i + 1 < fences.length ? fences[i + 1] : text.length;
    const newline = text.indexOf('\n', open);
    const infoEnd = newline < 0 || newline > close ? close : newline;
    blocks.push({ language: text.slice(open, infoEnd).trim().toLowerCase(), body: text.slice(infoEnd === close ? close : infoEnd + 1, close) });
  }
  return blocks;
}

/** Quotes a piece of a reply in an error message, shortened. */
export const shown = (text: string, max = 60): string => JSON.stringify(text.length > max ? `${text.slice(0, max)}...` : text);

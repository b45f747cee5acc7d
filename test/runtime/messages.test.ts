import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/core/index.ts';
import { LIMITS, parseFromAgent } from '../../src/runtime/messages.ts';

describe('messages from agents', () => {
  const reply = { type: 'action', v: 1, matchId: 'm', step: 0, action: '[bet]', meta: { thinkMs: 1.5 } };

  it('are validated once: what parseFromAgent returned passes again as it is, and carries nothing visible', () => {
    const parsed = parseFromAgent(reply);
    expect(parseFromAgent(parsed)).toBe(parsed);
    expect(Object.keys(parsed)).toEqual(['type', 'v', 'matchId', 'step', 'action', 'meta']);
    expect(JSON.parse(JSON.stringify(parsed))).toEqual(reply);
  });

  it('any other object is validated every time, even a copy of a validated one', () => {
    const parsed = parseFromAgent(reply);
    expect(() => parseFromAgent({ ...parsed, step: -1 })).toThrow(ProtocolError);
    expect(() => parseFromAgent({ ...reply, action: 7 })).toThrow(/action/);
  });

  it('refuse meta an episode could not keep: not JSON data, or nested deeper than the limit', () => {
    const nested = (levels: number) => {
      let value: unknown = 1;
      for (let i = 0; i < levels; i++) value = { d: value };
      return value;
    };
    expect(parseFromAgent({ ...reply, meta: { deep: nested(LIMITS.metaDepth - 1) } }).type).toBe('action');
    expect(() => parseFromAgent({ ...reply, meta: { deep: nested(LIMITS.metaDepth) } })).toThrow(`data nested more than ${LIMITS.metaDepth} levels deep`);
    expect(() => parseFromAgent({ ...reply, meta: { logprobs: [-0.5, -Infinity] } })).toThrow('bad message from agent: meta.logprobs.1: -Infinity is not a JSON number');
    expect(() => parseFromAgent({ ...reply, meta: { at: new Date(0) } })).toThrow(ProtocolError);
  });
});

import { describe, expect, it } from 'vitest';
import { threadErrorText } from '../../src/core/threads.ts';

describe('threadErrorText', () => {
  it.each([
    ['an Error', new Error('boom'), 'boom'],
    ['an error that crossed as a plain object with its message', { message: 'disk I/O error', code: 'SQLITE_IOERR' }, 'disk I/O error'],
    ['one that kept only its code (a SqliteError thrown while a thread starts)', { code: 'SQLITE_CANTOPEN' }, 'SQLITE_CANTOPEN'],
    ['a string', 'gone', 'gone'],
    ['undefined', undefined, 'undefined'],
  ])('says what %s was', (_name, error, text) => {
    expect(threadErrorText(error)).toBe(text);
  });
});

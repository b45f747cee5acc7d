import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const PREFIX = 'sp_';

/** A new agent token: 256 random bits. Only its hash is stored. */
export function newToken(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

/**
 * Tokens are random, not chosen by people, so a fast hash is enough: there is
 * nothing to guess from a stolen hash. SHA-256, hex.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function tokenMatches(token: string, storedHash: string): boolean {
  const a = Buffer.from(hashToken(token), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

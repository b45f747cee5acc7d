/** Base class of every error selfplay throws on purpose; `code` is stable for scripts. */
export class SelfplayError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** An action that is not legal in the state it was applied to. */
export class IllegalActionError extends SelfplayError {
  constructor(message: string) {
    super('illegal-action', message);
  }
}

/** Free text that could not be read as an action. */
export class ParseError extends SelfplayError {
  constructor(message: string) {
    super('parse-error', message);
  }
}

/** A bad game id, game parameter, serialised state or other user configuration. */
export class ConfigError extends SelfplayError {
  constructor(message: string) {
    super('config-error', message);
  }
}

/** A game too large for an exact algorithm (enumeration, compilation, exact solving). */
export class GameTooLargeError extends SelfplayError {
  constructor(message: string) {
    super('game-too-large', message);
  }
}

/** A message that breaks the agent protocol: wrong shape, too large, or out of order. */
export class ProtocolError extends SelfplayError {
  constructor(message: string) {
    super('protocol-error', message);
  }
}

/** A server that could not listen, said in words: the address in use, privileges, or the system's message. */
export function listenError(host: string, port: number, error: unknown): ConfigError {
  const code = (error as { code?: unknown }).code;
  const why =
    code === 'EADDRINUSE'
      ? 'the address is in use (another server? pick another --port, or 0 for any free one)'
      : code === 'EACCES'
        ? 'permission denied (ports below 1024 need privileges)'
        : error instanceof Error
          ? error.message
          : String(error);
  return new ConfigError(`cannot listen on ${host}:${port}: ${why}`);
}

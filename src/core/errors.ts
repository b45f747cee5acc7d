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

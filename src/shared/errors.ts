/** A failure with a stable machine-readable code; `cause` keeps the underlying error. */
export class TrainerError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TrainerError';
    this.code = code;
  }

  /** Errors cross process boundaries as plain objects, never as instances. */
  toJSON(): { code: string; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** Bad user input: flags, files. The CLI exits with code 2 for these. */
export class ConfigError extends TrainerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_CONFIG', message, options);
    this.name = 'ConfigError';
  }
}

/** A data file that is not what it claims to be. */
export class DataFormatError extends TrainerError {
  constructor(message: string) {
    super('E_DATA', message);
    this.name = 'DataFormatError';
  }
}

/** The coordinator went silent: the worker exits with its own status so a supervisor can restart it. */
export class CoordinatorLostError extends TrainerError {
  constructor(message: string) {
    super('E_COORDINATOR_LOST', message);
    this.name = 'CoordinatorLostError';
  }
}

/** A frame from the network that failed validation. */
export class ProtocolError extends TrainerError {
  constructor(message: string) {
    super('E_PROTOCOL', message);
    this.name = 'ProtocolError';
  }
}

/** A wait that ran past its deadline; the message names who did not answer. */
export class TimeoutError extends TrainerError {
  constructor(message: string) {
    super('E_TIMEOUT', message);
    this.name = 'TimeoutError';
  }
}

/** Replicas that should be identical are not. */
export class ReplicaMismatchError extends TrainerError {
  readonly ranks: number[];
  constructor(message: string, ranks: number[]) {
    super('E_REPLICA_MISMATCH', message);
    this.name = 'ReplicaMismatchError';
    this.ranks = ranks;
  }
}

/** The coordinator abandoned this membership generation: the worker rolls back and waits for the next. */
export class GenerationAborted extends TrainerError {
  constructor(readonly gen: number) {
    super('E_ABORTED_GENERATION', `generation ${gen} was abandoned by the coordinator`);
    this.name = 'GenerationAborted';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

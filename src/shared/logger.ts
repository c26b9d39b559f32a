/** Components log through this; only the CLI decides where lines go and how they look. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  log(level: LogLevel, msg: string, fields?: LogFields): void;
  child(bindings: LogFields): Logger;
}

export type LogSink = (level: LogLevel, msg: string, fields: LogFields) => void;

class SinkLogger implements Logger {
  constructor(private readonly sink: LogSink, private readonly bindings: LogFields) {}
  log(level: LogLevel, msg: string, fields: LogFields = {}): void {
    this.sink(level, msg, { ...this.bindings, ...fields });
  }
  child(bindings: LogFields): Logger {
    return new SinkLogger(this.sink, { ...this.bindings, ...bindings });
  }
}

export function createLogger(sink: LogSink, bindings: LogFields = {}): Logger {
  return new SinkLogger(sink, bindings);
}

/** For tests and library callers that want silence. */
export const silentLogger: Logger = createLogger(() => undefined);

/** Collects records in memory; tests assert on them. */
export function memoryLogger(): { logger: Logger; records: Array<{ level: LogLevel; msg: string; fields: LogFields }> } {
  const records: Array<{ level: LogLevel; msg: string; fields: LogFields }> = [];
  return { logger: createLogger((level, msg, fields) => records.push({ level, msg, fields })), records };
}

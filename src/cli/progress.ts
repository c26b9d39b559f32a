import cliProgress from 'cli-progress';
import type { LogFields, LogLevel, LogSink } from '../shared/logger.js';
import { createSink, num } from './logFormat.js';

/**
 * For a person at a terminal: training progress as one live bar (step/total,
 * epoch, ETA, losses, images/s, slowest worker); every other record as a line
 * printed above it.
 */
export function createTerminalSink(component: string, stream: NodeJS.WriteStream, minLevel: LogLevel): LogSink {
  const multibar = new cliProgress.MultiBar({
    stream,
    format: '{bar} {value}/{total} steps | epoch {epoch} | ETA {eta_formatted} | d {dLoss} g {gLoss} | D(x) {dReal} D(G(z)) {dFake} | {ips} img/s | slowest: worker {slowest}',
    barCompleteChar: '█',
    barIncompleteChar: '░',
    barsize: 24,
    hideCursor: true,
    clearOnComplete: false,
    etaBuffer: 50,
  });
  let bar: cliProgress.SingleBar | undefined;
  const lines = createSink('human', component, (line) => {
    if (bar) multibar.log(`${line}\n`);
    else stream.write(`${line}\n`);
  }, minLevel);
  return (level: LogLevel, msg: string, fields: LogFields) => {
    if (msg !== 'step') {
      lines(level, msg, fields);
      return;
    }
    const step = Number(fields.step);
    const steps = Number(fields.steps);
    const payload = {
      epoch: String(fields.epoch), dLoss: num(fields.dLoss, 3), gLoss: num(fields.gLoss, 3), dReal: num(fields.dReal, 2),
      dFake: num(fields.dFake, 2), ips: num(fields.imagesPerSecond, 0), slowest: String(fields.slowestRank ?? '?'),
    };
    bar ??= multibar.create(steps, 0, payload);
    bar.update(step, payload);
    if (step >= steps) {
      multibar.stop();
      bar = undefined;
    }
  };
}

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { writeAtomic } from '../shared/atomicFile.js';
import { DataFormatError } from '../shared/errors.js';
import { renderLineChart } from '../shared/plots/lineChart.js';
import { type RunRecords, runCharts } from './runCharts.js';

const finite = z.number().finite();
const StepLine = z.object({ step: z.number().int().positive(), images: finite, seconds: finite, dLoss: finite, gLoss: finite });
const SummaryFile = z.object({
  globalBatchSize: z.number().int().positive(),
  evaluation: z.object({ history: z.array(z.object({ step: z.number().int().positive(), fid: finite, fidLogits: finite })) }).optional(),
});

/** Reads a run directory's steps.jsonl and summary.json; a missing or malformed file is a one-line DataFormatError. */
export function readRunRecords(runDir: string): RunRecords {
  const summaryFile = path.join(runDir, 'summary.json');
  const stepsFile = path.join(runDir, 'steps.jsonl');
  for (const f of [summaryFile, stepsFile]) if (!existsSync(f)) throw new DataFormatError(`${f}: not found (is ${runDir} a finished run's --out directory?)`);
  let summary: z.infer<typeof SummaryFile>;
  try {
    summary = SummaryFile.parse(JSON.parse(readFileSync(summaryFile, 'utf8')));
  } catch (err) {
    throw new DataFormatError(`${summaryFile}: ${err instanceof z.ZodError ? err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : (err as Error).message}`);
  }
  const steps = readFileSync(stepsFile, 'utf8').split('\n').filter((l) => l.trim() !== '').map((line, i) => {
    try {
      return StepLine.parse(JSON.parse(line));
    } catch (err) {
      throw new DataFormatError(`${stepsFile} line ${i + 1}: ${err instanceof z.ZodError ? err.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ') : (err as Error).message}`);
    }
  });
  return { steps, globalBatchSize: summary.globalBatchSize, evaluations: summary.evaluation?.history ?? [] };
}

/** Draws RUN/plots/{losses,throughput,fid}.svg from the run's own records; returns the files written. */
export async function writeRunPlots(runDir: string): Promise<string[]> {
  const charts = runCharts(readRunRecords(runDir));
  const dir = path.join(runDir, 'plots');
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, chart] of Object.entries(charts)) {
    const file = path.join(dir, `${name}.svg`);
    writeAtomic(file, await renderLineChart(chart));
    written.push(file);
  }
  return written;
}

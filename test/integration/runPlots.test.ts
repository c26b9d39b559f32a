import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { readChart } from '../fixtures/svgChart.js';
import { runCli, tempDir } from '../helpers.js';

const EXPECTED: Record<string, string[]> = {
  'losses.svg': ['discriminator loss', 'generator loss'],
  'throughput.svg': ['images/s'],
  'fid.svg': ['MNIST-FID (features)', 'FID (logits)'],
};

function checkPlots(out: string): void {
  assert.deepEqual(readdirSync(path.join(out, 'plots')).sort(), Object.keys(EXPECTED).sort());
  for (const [file, series] of Object.entries(EXPECTED)) {
    const chart = readChart(readFileSync(path.join(out, 'plots', file), 'utf8'));
    assert.deepEqual(chart.lines.map((l) => l.series), series, file);
    assert.deepEqual(chart.legend, series, file);
    for (const l of chart.lines) assert.ok(l.vertices >= 2, `${file} ${l.series}: ${l.vertices} points`);
  }
}

test('a run ends with plots/losses.svg, throughput.svg and fid.svg drawn from its own records; trainer plot redraws them', async () => {
  const out = tempDir('plots');
  const run = await runCli(['coordinator', '--workers', '1', '--spawn', '--steps', '12', '--batch-size', '16', '--limit', '512', '--bind', '127.0.0.1', '--port', '0',
    '--out', out, '--log-format', 'json', '--backend', 'wasm', '--sample-every', '0', '--eval-every', '6', '--eval-count', '200'], 240_000);
  assert.equal(run.code, 0, run.stderr.slice(-3000));
  const steps = readFileSync(path.join(out, 'steps.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; images: number });
  assert.deepEqual(steps.map((s) => s.step), Array.from({ length: 12 }, (_, i) => i + 1));
  assert.equal(steps.at(-1)!.images, 12 * 16);
  checkPlots(out);

  rmSync(path.join(out, 'plots'), { recursive: true });
  const redraw = await runCli(['plot', out, '--log-format', 'json'], 120_000);
  assert.equal(redraw.code, 0, redraw.stderr);
  checkPlots(out);

  const missing = await runCli(['plot', path.join(out, 'nowhere')], 60_000);
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(missing.stderr.trim(), /^trainer: .*nowhere\/summary\.json: not found[^\n]*$/);
});

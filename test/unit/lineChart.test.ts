import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderLineChart, PlotError } from '../../src/shared/plots/lineChart.js';
import { readChart } from '../fixtures/svgChart.js';

test('a line chart renders headless as SVG with one line per series, in the legend in order', async () => {
  const svg = await renderLineChart({
    title: 'FID against images seen',
    xTitle: 'images seen',
    yTitle: 'MNIST-FID',
    yLog: true,
    points: true,
    series: [
      { name: 'trainer 1 worker', points: [[1000, 300], [2000, 120], [3000, 80]] },
      { name: 'trainer, 2 workers, a long series name of more than 160 pixels', points: [[1000, 280], [3000, 90]] },
      { name: 'pytorch', points: [[1500, 200], [2500, 100], [3000, 70], [3500, 60]] },
    ],
  });
  const chart = readChart(svg);
  assert.deepEqual(
    chart.lines.map((l) => [l.series, l.vertices]),
    [['trainer 1 worker', 3], ['trainer, 2 workers, a long series name of more than 160 pixels', 2], ['pytorch', 4]],
  );
  assert.deepEqual(chart.legend, ['trainer 1 worker', 'trainer, 2 workers, a long series name of more than 160 pixels', 'pytorch']);
  for (const t of ['FID against images seen', 'images seen', 'MNIST-FID']) assert.ok(chart.texts.includes(t), t);
});

test('a chart that cannot be drawn is refused with a PlotError naming the series', async () => {
  await assert.rejects(renderLineChart({ xTitle: 'x', yTitle: 'y', series: [] }), PlotError);
  await assert.rejects(
    renderLineChart({ xTitle: 'x', yTitle: 'y', yLog: true, series: [{ name: 'loss', points: [[1, 0]] }] }),
    (e: unknown) => e instanceof PlotError && /"loss" point 0/.test(e.message),
  );
  await assert.rejects(
    renderLineChart({ xTitle: 'x', yTitle: 'y', series: [{ name: 'd', points: [[1, Number.NaN]] }] }),
    PlotError,
  );
});

test('the SVG reader rejects what is not an SVG document', () => {
  assert.throws(() => readChart('<svg><g></svg>'), /not well-formed/);
  assert.throws(() => readChart('<html></html>'), /root element/);
});

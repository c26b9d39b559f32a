import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import type { OpenMetricsContentType } from 'prom-client';
import { loadOneYaml } from '../fixtures/deployFiles.js';
import { dashboardExpressions, exportedFamilies, metricNamesInPromql } from '../fixtures/promql.js';
import { ROOT } from '../helpers.js';

/**
 * The documented metrics contract: the only names the dashboard may query (plus `up`).
 * Histograms are listed with the series a query can use.
 */
const histogram = (name: string): string[] => [name, `${name}_bucket`, `${name}_sum`, `${name}_count`];
const METRIC_CONTRACT = new Set([
  'trainer_step',
  'trainer_epoch',
  'trainer_generator_loss',
  'trainer_discriminator_loss',
  'trainer_discriminator_real_output',
  'trainer_discriminator_fake_output',
  'trainer_images_processed_total',
  'trainer_images_per_second',
  ...histogram('trainer_step_duration_seconds'),
  'trainer_workers_connected',
  'trainer_worker_failures_total',
  'trainer_replica_hash_mismatches_total',
  'trainer_checkpoints_written_total',
  'trainer_bad_steps_total',
  'trainer_samples_written_total',
  'trainer_dropped_frames_total',
  'trainer_workers_lost_total',
  'trainer_workers_joined_total',
  'trainer_membership_changes_total',
  'trainer_generation',
  'trainer_state_sent_bytes_total',
  'trainer_mnist_fid',
  'trainer_mnist_fid_best',
  'trainer_evaluations_total',
  'trainer_info',
  'trainer_worker_step',
  ...histogram('trainer_worker_compute_seconds'),
  ...histogram('trainer_worker_allreduce_seconds'),
  ...histogram('trainer_worker_apply_seconds'),
  ...histogram('trainer_worker_data_wait_seconds'),
  ...histogram('trainer_worker_peer_wait_seconds'),
  'trainer_allreduce_sent_bytes_total',
  'trainer_allreduce_received_bytes_total',
  'trainer_allreduce_shared_memory_bytes_total',
  'trainer_tfjs_tensors',
  'trainer_tfjs_bytes',
  'trainer_worker_info',
  'up',
]);

test('extracts the histogram behind histogram_quantile with sum by (le)', () => {
  assert.deepEqual(
    metricNamesInPromql('histogram_quantile(0.95, sum by (le) (rate(trainer_step_duration_seconds_bucket[1m])))'),
    ['trainer_step_duration_seconds_bucket'],
  );
  assert.deepEqual(
    metricNamesInPromql('histogram_quantile(0.5, sum(rate(a_bucket{job="x"}[5m])) by (le, rank))'),
    ['a_bucket'],
  );
  assert.deepEqual(metricNamesInPromql('sum without (instance, le) (x)'), ['x']);
});

test('skips label matchers, including regex strings with braces, parens and keywords', () => {
  assert.deepEqual(
    metricNamesInPromql('rate(trainer_worker_compute_seconds_sum{rank=~"0|1", job!~"sum(rate[a-z]{2})", le="+Inf"}[1m])'),
    ['trainer_worker_compute_seconds_sum'],
  );
  assert.deepEqual(metricNamesInPromql(`up{job='trainer-workers', instance=~\`worker-\\d+:9401\`}`), ['up']);
  assert.deepEqual(metricNamesInPromql('x{a="quote \\" } inside"} + y'), ['x', 'y']);
});

test('reads metric names from __name__ matchers and quoted names', () => {
  assert.deepEqual(metricNamesInPromql('{__name__="trainer_step", job="c"}'), ['trainer_step']);
  assert.deepEqual(metricNamesInPromql('{"trainer.step", job="c"}'), ['trainer.step']);
  assert.deepEqual(metricNamesInPromql('{__name__=~"trainer_.*"}'), [], 'a regex cannot be resolved to names');
});

test('skips offset, @, durations, subqueries, numbers and template variables', () => {
  assert.deepEqual(metricNamesInPromql('trainer_step - trainer_step offset 5m'), ['trainer_step']);
  assert.deepEqual(metricNamesInPromql('increase(a_total[1h30m] offset -1d) @ end()'), ['a_total']);
  assert.deepEqual(metricNamesInPromql('max_over_time(rate(b_total[$__rate_interval])[10m:30s]) * 1e-3 + 0x1f - Inf'), ['b_total']);
  assert.deepEqual(metricNamesInPromql('rate(c_total{rank=~"$rank"}[${__interval}]) > bool 1.5'), ['c_total']);
  assert.deepEqual(metricNamesInPromql('vector(1) + time() # a comment naming not_a_metric'), []);
});

test('finds both sides of binary operators, with vector matching and set operators', () => {
  assert.deepEqual(
    metricNamesInPromql('rate(trainer_worker_compute_seconds_sum[1m]) / rate(trainer_worker_compute_seconds_count[1m])'),
    ['trainer_worker_compute_seconds_sum', 'trainer_worker_compute_seconds_count'],
  );
  assert.deepEqual(
    metricNamesInPromql('a / on (rank) group_left (backend) b and ignoring(job) c or d unless e'),
    ['a', 'b', 'c', 'd', 'e'],
  );
  assert.deepEqual(metricNamesInPromql('a * on(rank) group_left b'), ['a', 'b'], 'group_left without a label list');
  assert.deepEqual(metricNamesInPromql('SUM BY (rank) (x) + sum(x)'), ['x'], 'keywords are case-insensitive; names are distinct');
  assert.deepEqual(metricNamesInPromql('label_replace(up, "dst", "$1", "instance", "(.*):.*")'), ['up']);
  assert.deepEqual(metricNamesInPromql('topk(3, count_values("v", trainer_worker_step))'), ['trainer_worker_step']);
});

test('refuses malformed input rather than guessing', () => {
  assert.throws(() => metricNamesInPromql('x{a="b}'), /unterminated string/);
  assert.throws(() => metricNamesInPromql('rate(x[1m)'), /unbalanced/);
});

test('dashboardExpressions walks panels, rows and collapsed rows', () => {
  const dashboard = {
    panels: [
      { type: 'timeseries', targets: [{ expr: 'a' }, { expr: 'b' }, { refId: 'C' }] },
      { type: 'row', collapsed: true, panels: [{ type: 'stat', targets: [{ expr: 'c' }] }] },
      { type: 'text' },
    ],
    rows: [{ panels: [{ targets: [{ expr: 'd' }] }] }],
  };
  assert.deepEqual(dashboardExpressions(dashboard), ['a', 'b', 'c', 'd']);
  assert.deepEqual(dashboardExpressions(null), []);
  assert.deepEqual(dashboardExpressions({ panels: 'nope' }), []);
});

test('exportedFamilies reads TYPE lines of a text exposition', () => {
  const exposition = [
    '# HELP trainer_images_processed_total Images processed.',
    '# TYPE trainer_images_processed_total counter',
    'trainer_images_processed_total 128',
    '# TYPE trainer_step_duration_seconds histogram',
    'trainer_step_duration_seconds_bucket{le="+Inf"} 1',
    'trainer_step_duration_seconds_sum 0.2',
    'trainer_step_duration_seconds_count 1',
    '# TYPE rpc_seconds summary',
    'rpc_seconds{quantile="0.5"} 0.1',
    '# TYPE trainer_step gauge',
    'trainer_step 3',
    '# TYPE legacy untyped',
    '',
  ].join('\n');
  assert.deepEqual(
    [...exportedFamilies(exposition)].sort(),
    [
      'legacy',
      'rpc_seconds', 'rpc_seconds_count', 'rpc_seconds_sum',
      'trainer_images_processed_total',
      'trainer_step',
      'trainer_step_duration_seconds', 'trainer_step_duration_seconds_bucket',
      'trainer_step_duration_seconds_count', 'trainer_step_duration_seconds_sum',
    ],
  );
});

test('exportedFamilies matches what prom-client 15 exposes, in both formats', async () => {
  const register = (registry: Registry | Registry<OpenMetricsContentType>): void => {
    const registers = [registry as Registry];
    new Counter({ name: 'suffixed_total', help: 'h', registers }).inc();
    new Counter({ name: 'unsuffixed', help: 'h', registers }).inc();
    new Histogram({ name: 'h_seconds', help: 'h', buckets: [1], registers }).observe(0.5);
    new Summary({ name: 's_seconds', help: 'h', registers }).observe(0.5);
    new Gauge({ name: 'g', help: 'h', labelNames: ['rank'], registers }).set({ rank: '0' }, 1);
  };
  const sampleNames = (text: string): Set<string> =>
    new Set(text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => /^[^\s{]+/.exec(l)?.[0] ?? ''));

  // Prometheus text 0.0.4 (the default): the counter's TYPE line and samples use the
  // name exactly as given, with no _total added.
  const text = new Registry();
  register(text);
  const textExposition = await text.metrics();
  assert.match(textExposition, /^# TYPE unsuffixed counter\nunsuffixed 1$/m);
  assert.match(textExposition, /^# TYPE suffixed_total counter\nsuffixed_total 1$/m);
  const textFamilies = exportedFamilies(textExposition);
  for (const name of sampleNames(textExposition)) assert.ok(textFamilies.has(name), `${name} is queryable`);
  assert.ok(textFamilies.has('unsuffixed') && !textFamilies.has('unsuffixed_total'));

  // OpenMetrics: the TYPE line drops _total and every counter sample gets it.
  const om = new Registry<OpenMetricsContentType>();
  om.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  register(om);
  const omExposition = await om.metrics();
  assert.match(omExposition, /^# TYPE suffixed counter\nsuffixed_total 1$/m);
  assert.match(omExposition, /^# TYPE unsuffixed counter\nunsuffixed_total 1$/m);
  const omFamilies = exportedFamilies(omExposition);
  for (const name of sampleNames(omExposition)) assert.ok(omFamilies.has(name), `${name} is queryable`);
  assert.ok(omFamilies.has('suffixed_total') && omFamilies.has('unsuffixed_total') && !omFamilies.has('suffixed'));
});

test('the Grafana dashboard queries only the documented metrics', () => {
  interface Panel { targets?: unknown[]; panels?: Panel[] }
  const dashboard = JSON.parse(readFileSync(path.join(ROOT, 'deploy/grafana/dashboard.json'), 'utf8')) as { title: string; panels: Panel[] };
  assert.equal(dashboard.title, 'trainer');
  const exprs = dashboardExpressions(dashboard);
  const allPanels = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
  const panelsWithTargets = allPanels(dashboard.panels).filter((p) => (p.targets?.length ?? 0) > 0);
  assert.ok(panelsWithTargets.length >= 10, `${panelsWithTargets.length} panels with targets`);
  const used = new Set<string>();
  for (const expr of exprs) {
    const names = metricNamesInPromql(expr);
    assert.ok(names.length > 0, `${expr} names a metric`);
    for (const name of names) {
      assert.ok(METRIC_CONTRACT.has(name), `${JSON.stringify(expr)} uses ${name}, which is not in the metrics contract`);
      used.add(name);
    }
  }
  for (const name of ['trainer_generator_loss', 'trainer_step_duration_seconds_bucket', 'trainer_worker_peer_wait_seconds_count', 'trainer_info', 'up']) {
    assert.ok(used.has(name), `the dashboard shows ${name}`);
  }
});

test('prometheus.yml finds the coordinator and the workers through the coordinator\'s /sd, every 5s', () => {
  const config = loadOneYaml<{
    global: { scrape_interval: string };
    scrape_configs: Array<{ job_name: string; static_configs?: unknown; http_sd_configs?: Array<{ url: string; refresh_interval?: string }> }>;
  }>('deploy/prometheus/prometheus.yml');
  assert.equal(config.global.scrape_interval, '5s');
  assert.deepEqual(config.scrape_configs.map((c) => [c.job_name, c.static_configs, c.http_sd_configs]), [
    ['trainer', undefined, [{ url: 'http://coordinator:9400/sd', refresh_interval: '5s' }]],
  ]);
});

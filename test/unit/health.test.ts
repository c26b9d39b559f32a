import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HealthState } from '../../src/shared/health.js';
import { SpanRecorder, TraceBuilder } from '../../src/shared/timeline.js';

test('health: ok while training makes progress, 503 with a reason once it stalls or fails', () => {
  let now = 0;
  const h = new HealthState(1000, () => now);
  assert.deepEqual(h.check(), { ok: false, reason: 'starting' });
  h.set(true, 'training', true);
  now = 900;
  assert.equal(h.check().ok, true);
  h.progress('step 7');
  now = 1800;
  assert.deepEqual(h.check(), { ok: true, reason: 'step 7' });
  now = 3000;
  assert.deepEqual(h.check(), { ok: false, reason: 'no progress for 2 s (last: step 7)' });
  h.set(true, 'finished');
  now = 100_000;
  assert.equal(h.check().ok, true, 'a finished run does not stall');
  h.set(false, 'failed: boom');
  assert.deepEqual(h.check(), { ok: false, reason: 'failed: boom' });
});

test('timeline: spans become one named row per rank, relative to the first span; a disabled recorder keeps nothing', () => {
  const off = new SpanRecorder(false);
  off.add('apply', 0, 1);
  assert.deepEqual(off.take(), []);
  const rec = new SpanRecorder(true);
  rec.add('forward/backward', 10, 12.5, 'd');
  rec.add('apply', 12.5, 13, 'd');
  const spans = rec.take();
  assert.equal(spans.length, 2);
  assert.equal(spans[0]!.dur, 2500, 'microseconds');
  assert.deepEqual(rec.take(), [], 'take empties the recorder');
  const trace = new TraceBuilder();
  trace.add(1, 3, spans);
  trace.add(0, 3, [{ name: 'data wait', start: spans[0]!.start - 1000, dur: 1000 }]);
  const json = trace.toJSON();
  const x = json.traceEvents.filter((e) => e.ph === 'X');
  assert.deepEqual(x.map((e) => [e.tid, e.name, e.ts, e.dur]), [[1, 'forward/backward D', 1000, 2500], [1, 'apply D', 3500, 500], [0, 'data wait', 0, 1000]]);
  const names = json.traceEvents.filter((e) => e.name === 'thread_name').map((e) => [e.tid, e.args?.name]);
  assert.deepEqual(names, [[0, 'worker 0'], [1, 'worker 1']]);
});

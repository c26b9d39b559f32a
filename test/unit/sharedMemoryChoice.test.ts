import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sharedMemoryRefusal } from '../../src/coordinator/ringEndpoints.js';
import { type SharedMemoryAddon, probeSharedMemory } from '../../src/shared/transport/sharedMemory.js';
import { SEGMENT_NAME, segmentName } from '../../src/shared/allreduce/sharedMemoryPlan.js';

const port = (hostId: string | undefined, sharedMemory: string | undefined): { dataEndpoint: string; hostId?: string; sharedMemory?: string } => ({
  dataEndpoint: 'tcp://h:1', ...(hostId !== undefined ? { hostId } : {}), ...(sharedMemory !== undefined ? { sharedMemory } : {}),
});

test('shared memory only when every rank is on one host, can map, and sees the same /dev/shm', () => {
  assert.equal(sharedMemoryRefusal([port('a', 'a m1'), port('a', 'a m1'), port('a', 'a m1')]), undefined);
  assert.match(sharedMemoryRefusal([port('a', 'a m1')]) ?? '', /single rank/);
  assert.match(sharedMemoryRefusal([port('a', 'a m1'), port('b', 'b m1')]) ?? '', /on 2 hosts/);
  assert.match(sharedMemoryRefusal([port('a', 'a m1'), port(undefined, 'a m1')]) ?? '', /rank 1 did not say which host/);
  assert.match(sharedMemoryRefusal([port('a', undefined), port('a', 'a m1'), port('a', undefined)]) ?? '', /rank 0, 2 cannot map shared memory/);
  assert.match(sharedMemoryRefusal([port('a', 'a m1'), port('a', 'a m2')]) ?? '', /different \/dev\/shm/);
});

test('the probe says why a worker cannot map: the addon missing, or mapping failing; else it hands back the addon', () => {
  const missing = probeSharedMemory(() => { throw new Error('addon not built'); });
  assert.deepEqual(missing, { why: 'addon not built' });
  const cannotMap: SharedMemoryAddon = { shmMap: () => { throw new Error('cannot open /x: No space left on device'); }, shmUnlink: () => true };
  assert.deepEqual(probeSharedMemory(() => cannotMap), { why: 'cannot open /x: No space left on device' });
  const mapped: string[] = [];
  const works: SharedMemoryAddon = { shmMap: (name, bytes) => { mapped.push(name); return new ArrayBuffer(bytes); }, shmUnlink: (name) => { mapped.push(`-${name}`); return true; } };
  const ok = probeSharedMemory(() => works, '/trainer-probe-test');
  assert.ok('addon' in ok && ok.addon === works && ok.domain.length > 0);
  assert.deepEqual(mapped, ['/trainer-probe-test', '-/trainer-probe-test'], 'the probe segment is removed at once');
});

test('segment names: a fresh one per generation, in the form the start message admits', () => {
  assert.equal(segmentName('c0ffee', 3), '/trainer-c0ffee-g3');
  assert.notEqual(segmentName('c0ffee', 1), segmentName('c0ffee', 2));
  assert.match(segmentName('c0ffee', 12), SEGMENT_NAME);
  assert.doesNotMatch('/trainer-../etc-g1', SEGMENT_NAME);
});

test('the probe picks the segment\'s barrier word where the addon has it, else message barriers saying why; the domain names the kind, so ranks of different kinds never share a segment', () => {
  const base: SharedMemoryAddon = { shmMap: (_name, bytes) => new ArrayBuffer(bytes), shmUnlink: () => true };
  const withWord: SharedMemoryAddon = { ...base, shmArrive: () => true, shmWait: () => true };
  const segment = probeSharedMemory(() => withWord, '/trainer-probe-test');
  const old = probeSharedMemory(() => base, '/trainer-probe-test');
  const asked = probeSharedMemory(() => withWord, '/trainer-probe-test', '--shm-barrier message');
  assert.ok('barrier' in segment && 'barrier' in old && 'barrier' in asked);
  assert.equal(segment.barrier.kind, 'segment');
  assert.deepEqual(old.barrier, { kind: 'message', why: 'the native addon has no shmWait: rebuild it with npm run build:native' });
  assert.deepEqual(asked.barrier, { kind: 'message', why: '--shm-barrier message' });
  assert.notEqual(segment.domain, old.domain, 'a rank with the word and one without are not one shared-memory domain');
  assert.equal(old.domain, asked.domain);
  assert.match(sharedMemoryRefusal([port('a', segment.domain), port('a', old.domain)]) ?? '', /./, 'the coordinator refuses shared memory to such a pair');
});

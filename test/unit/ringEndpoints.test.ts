import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeLinks, ringEndpoints } from '../../src/coordinator/ringEndpoints.js';

const port = (n: number, hostId?: string, ipc = true): { dataEndpoint: string; ipcEndpoint?: string; hostId?: string } => ({
  dataEndpoint: `tcp://h:${n}`, ...(ipc ? { ipcEndpoint: `ipc:///tmp/r${n}/ring.sock` } : {}), ...(hostId !== undefined ? { hostId } : {}),
});

test('a ring link is ipc:// exactly where the predecessor registered the same host id and the rank offers a Unix socket', () => {
  // Ranks 0 and 1 share host a, 2 and 3 share b; 4 is on a but offers no ipc endpoint; 5 registered no host id.
  const ranks = [port(0, 'a'), port(1, 'a'), port(2, 'b'), port(3, 'b'), port(4, 'a', false), port(5)];
  const { endpoints, kinds } = ringEndpoints(ranks);
  assert.deepEqual(kinds, ['tcp', 'ipc', 'tcp', 'ipc', 'tcp', 'tcp']);
  assert.deepEqual(endpoints, ['tcp://h:0', 'ipc:///tmp/r1/ring.sock', 'tcp://h:2', 'ipc:///tmp/r3/ring.sock', 'tcp://h:4', 'tcp://h:5']);
  // The link into rank 0 comes from the last rank: same host there, so ipc.
  assert.deepEqual(ringEndpoints([port(0, 'a'), port(1, 'b'), port(2, 'a')]).kinds, ['ipc', 'tcp', 'tcp']);
  // Two ranks without any host id never share a host.
  assert.deepEqual(ringEndpoints([port(0), port(1)]).kinds, ['tcp', 'tcp']);
  // One rank has no link at all.
  assert.deepEqual(ringEndpoints([port(0, 'a')]).endpoints, ['tcp://h:0']);
  assert.equal(describeLinks(['ipc', 'tcp', 'ipc']), '2 -> 0 ipc, 0 -> 1 tcp, 1 -> 2 ipc');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type SdMember, coordinatorAddress, sdTargetGroups } from '../../src/coordinator/serviceDiscovery.js';
import { Membership } from '../../src/coordinator/membership.js';
import { PROTOCOL_VERSION, type Hello, parseWorkerMessage } from '../../src/shared/protocol.js';

const SELF = { address: 'coord.example:9400', host: 'coord' };
const COORDINATOR_GROUP = { targets: ['coord.example:9400'], labels: { role: 'coordinator', host: 'coord' } };

const member = (id: number, rank: number | undefined, host: string, metricsAddress?: string): SdMember =>
  ({ id, rank, hello: { host, ...(metricsAddress === undefined ? {} : { metricsAddress }) } });

test('/sd lists the coordinator, then the roster by rank, then workers waiting to be admitted, oldest first', () => {
  const members = [
    member(4, undefined, 'gpu3', 'gpu3:9401'), // waiting, joined last
    member(0, 1, 'gpu1', '10.0.0.2:9401'),
    member(2, undefined, 'gpu2', '10.0.0.3:9402'), // waiting, joined earlier
    member(1, 0, 'gpu1', '10.0.0.2:9402'),
  ];
  assert.deepEqual(sdTargetGroups(SELF, members), [
    COORDINATOR_GROUP,
    { targets: ['10.0.0.2:9402'], labels: { role: 'worker', host: 'gpu1', rank: '0' } },
    { targets: ['10.0.0.2:9401'], labels: { role: 'worker', host: 'gpu1', rank: '1' } },
    { targets: ['10.0.0.3:9402'], labels: { role: 'worker', host: 'gpu2' } },
    { targets: ['gpu3:9401'], labels: { role: 'worker', host: 'gpu3' } },
  ]);
});

test('/sd leaves out workers that serve no metrics; with no workers it lists the coordinator alone', () => {
  assert.deepEqual(sdTargetGroups(SELF, [member(0, 0, 'a'), member(1, 1, 'b', 'b:9401')]), [
    COORDINATOR_GROUP,
    { targets: ['b:9401'], labels: { role: 'worker', host: 'b', rank: '1' } },
  ]);
  assert.deepEqual(sdTargetGroups(SELF, []), [COORDINATOR_GROUP]);
});

/** A hello as a worker sends it, checked by the protocol's own validation. */
function hello(host: string, metricsAddress: string): Hello {
  const msg = parseWorkerMessage({ t: 'hello', v: PROTOCOL_VERSION, backend: 'wasm', host, pid: 1, dataEndpoint: `tcp://${host}:5600`, metricsAddress });
  assert.equal(msg.t, 'hello');
  return msg as Hello;
}

test('/sd follows the membership: a worker appears on joining, takes its rank with the roster, and is gone once lost', () => {
  const m = new Membership(3);
  const targets = (): string[][] => sdTargetGroups(SELF, m.all()).map((g) => [g.targets[0]!, g.labels.rank ?? '-']);
  const join = (peer: string, host: string, address: string): ReturnType<Membership['hello']> => m.hello(peer, hello(host, address), 'f'.repeat(32));
  const a = join('a', 'h1', 'h1:9401');
  const b = join('b', 'h1', 'h1:9402');
  assert.deepEqual(targets(), [[SELF.address, '-'], ['h1:9401', '-'], ['h1:9402', '-']], 'registered, not yet ranked');
  assert.ok(a.kind === 'accepted' && b.kind === 'accepted');
  m.form([b.member, a.member]);
  assert.deepEqual(targets(), [[SELF.address, '-'], ['h1:9402', '0'], ['h1:9401', '1']]);
  const c = join('c', 'h2', 'h2:9401');
  assert.ok(c.kind === 'accepted');
  assert.deepEqual(targets(), [[SELF.address, '-'], ['h1:9402', '0'], ['h1:9401', '1'], ['h2:9401', '-']], 'a joiner is listed before it is admitted');
  m.remove(b.member.id);
  assert.deepEqual(targets(), [[SELF.address, '-'], ['h1:9401', '1'], ['h2:9401', '-']], 'a lost worker is gone at once');
  m.form([a.member, c.member]);
  assert.deepEqual(targets(), [[SELF.address, '-'], ['h1:9401', '0'], ['h2:9401', '1']]);
});

test('the coordinator is listed where Prometheus reached it (the Host header), else at its bound address', () => {
  assert.equal(coordinatorAddress('trainer-coordinator.default.svc:9400', { host: '0.0.0.0', port: 9400 }, 'node1'), 'trainer-coordinator.default.svc:9400');
  assert.equal(coordinatorAddress('[::1]:9400', { host: '::', port: 9400 }, 'node1'), '[::1]:9400');
  // A Host header without a port, or not a host name at all, is not trusted.
  assert.equal(coordinatorAddress('coordinator', { host: '0.0.0.0', port: 9400 }, 'node1'), 'node1:9400');
  assert.equal(coordinatorAddress('evil/x:1', { host: '10.1.2.3', port: 9400 }, 'node1'), '10.1.2.3:9400');
  assert.equal(coordinatorAddress(undefined, { host: '::', port: 9400 }, 'fe80::1'), '[fe80::1]:9400');
});

test('a hello\'s metrics address must be HOST:PORT with a real port', () => {
  const base = { t: 'hello', v: PROTOCOL_VERSION, backend: 'wasm', host: 'h', pid: 1, dataEndpoint: 'tcp://h:1' };
  for (const good of ['h:9401', '10.0.0.2:65535', '[fe80::1]:9401', 'worker-0.trainer-workers:9401']) {
    assert.equal((parseWorkerMessage({ ...base, metricsAddress: good }) as Hello).metricsAddress, good);
  }
  for (const bad of ['h', 'h:0', 'h:65536', 'http://h:9401', 'h:9401/metrics', 'a b:1', '', ':9401']) {
    assert.throws(() => parseWorkerMessage({ ...base, metricsAddress: bad }), /at metricsAddress/, JSON.stringify(bad));
  }
});

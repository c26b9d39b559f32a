import { ZmqRingLink } from '../../src/shared/transport/zmqRingLink.js';
import { silentLogger } from '../../src/shared/logger.js';
import { peerLinkConformance } from '../fixtures/peerLinkSuite.js';

// The ZeroMQ link under the same PeerLink conformance suite as the in-memory and simulated ones (test/unit/peerLinks.test.ts).
peerLinkConformance('ZeroMQ peers on loopback', async (world, timeoutMs) => {
  const links = Array.from({ length: world }, () => new ZmqRingLink(silentLogger, timeoutMs));
  const ports = await Promise.all(links.map((l) => l.bind('tcp://127.0.0.1:*')));
  const roster = ports.map((port) => ({ endpoint: `tcp://127.0.0.1:${port}` }));
  links.forEach((l, r) => {
    l.expect({ lengths: { d: 1001, g: 1001 }, segmentElements: 100, maxWorld: world, peerToPeer: true });
    l.begin(1, 0, world, (r - 1 + world) % world, world > 1 ? roster[(r + 1) % world] : undefined);
    l.roster(r, roster);
  });
  return { links, close: async () => void (await Promise.all(links.map((l) => l.close()))) };
});

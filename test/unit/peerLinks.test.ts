import { memoryPeers } from '../../src/shared/allreduce/memoryLink.js';
import { simNetwork } from '../../src/shared/allreduce/simLink.js';
import { peerLinkConformance } from '../fixtures/peerLinkSuite.js';

peerLinkConformance('in-memory peers', async (world, timeoutMs) => ({ links: memoryPeers(world, timeoutMs), close: async () => undefined }));
peerLinkConformance('simulated peers', async (world, timeoutMs) => ({
  links: simNetwork(world, { alphaS: 20e-6, betaBytesPerS: 1.25e9, gammaSPerByte: 1e-10, timeoutMs }),
  close: async () => undefined,
}));

import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
const s = new Session(); s.connect();
await s.post('HeapProfiler.enable');
setTimeout(async () => {
  await s.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  setTimeout(async () => {
    const { profile } = await s.post('HeapProfiler.stopSampling');
    writeFileSync(`/tmp/ab/hp/heap-${process.pid}.json`, JSON.stringify(profile));
  }, 4000).unref();
}, 4000).unref();

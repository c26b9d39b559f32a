import os from 'node:os';

/** An address of this host that other hosts can reach: the first non-internal IPv4, else loopback. */
export function defaultAdvertiseHost(): string {
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

import { ConfigError } from '../shared/errors.js';

export interface HostSlots {
  host: string;
  slots: number;
}

/** Where one launched worker runs: rank r is the r-th slot, filling hosts in the order given. */
export interface Slot {
  rank: number;
  host: string;
  /** Its index among the workers on that host: its GPU and its metrics port offset. */
  local: number;
  /** How many workers that host runs. */
  onHost: number;
}

/** A host name or IPv4 address (an IPv6 literal would collide with :SLOTS; use a name). */
const HOST = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;

/** `gpu1:2,gpu2:2` (as horovodrun -H); a host without `:N` has one slot. */
export function parseHosts(text: string): HostSlots[] {
  const seen = new Set<string>();
  return text.split(',').map((part) => {
    const m = /^(.*?)(?::(\d+))?$/.exec(part.trim())!;
    const host = m[1]!;
    const slots = m[2] === undefined ? 1 : Number(m[2]);
    if (!HOST.test(host)) throw new ConfigError(`--hosts: ${JSON.stringify(part)} is not HOST or HOST:SLOTS`);
    if (!Number.isSafeInteger(slots) || slots < 1 || slots > 1024) throw new ConfigError(`--hosts: ${JSON.stringify(part)} must have 1 to 1024 slots`);
    if (seen.has(host)) throw new ConfigError(`--hosts: ${host} is listed twice; give it more slots instead`);
    seen.add(host);
    return { host, slots };
  });
}

/** The first `workers` slots; an error if the hosts have fewer. */
export function assignSlots(hosts: readonly HostSlots[], workers: number): Slot[] {
  const total = hosts.reduce((n, h) => n + h.slots, 0);
  if (total < workers) throw new ConfigError(`--hosts has ${total} slot${total === 1 ? '' : 's'} for --workers ${workers}`);
  const slots: Slot[] = [];
  for (const { host, slots: n } of hosts) {
    const first = slots.length;
    for (let local = 0; local < n && slots.length < workers; local++) slots.push({ rank: slots.length, host, local, onHost: 0 });
    for (const s of slots.slice(first)) s.onHost = slots.length - first;
  }
  return slots;
}

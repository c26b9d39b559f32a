import { HOST_PORT } from '../shared/protocol.js';
import { reachableAt } from '../shared/transport/httpServer.js';
import type { Member } from './membership.js';

/**
 * Prometheus HTTP service discovery (`http_sd_configs`): the coordinator's `GET /sd`
 * lists every process of the run that serves metrics, so a Prometheus pointed at the
 * coordinator alone finds the workers, wherever and on whatever port they started.
 * https://prometheus.io/docs/prometheus/latest/http_sd/
 */

/** One target group of the http_sd format; every label value is a string. */
export interface SdTargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

/** What the list needs of a registered worker. */
export type SdMember = Pick<Member, 'id' | 'rank'> & { hello: Pick<Member['hello'], 'host' | 'metricsAddress'> };

/**
 * The coordinator, then every registered worker that serves metrics: the current
 * roster in rank order, then those waiting to be admitted (no rank yet), oldest first.
 * A lost worker has left the membership, and so the list. Labels: role, host (the
 * worker's host name), rank (its rank in the current generation).
 */
export function sdTargetGroups(self: { address: string; host: string }, members: readonly SdMember[]): SdTargetGroup[] {
  const groups: SdTargetGroup[] = [{ targets: [self.address], labels: { role: 'coordinator', host: self.host } }];
  const order = (m: SdMember): number => m.rank ?? Number.POSITIVE_INFINITY;
  const listed = members.filter((m) => m.hello.metricsAddress !== undefined).sort((a, b) => order(a) - order(b) || a.id - b.id);
  for (const m of listed) {
    groups.push({
      targets: [m.hello.metricsAddress!],
      labels: { role: 'worker', host: m.hello.host, ...(m.rank === undefined ? {} : { rank: String(m.rank) }) },
    });
  }
  return groups;
}

/**
 * The address Prometheus reaches the coordinator's metrics at: the Host header of its
 * /sd request (the name and port it used, through whatever Service or NAT), else the
 * address the server is bound to when that is one address, else `fallbackHost`.
 */
export function coordinatorAddress(hostHeader: string | undefined, bound: { host: string; port: number }, fallbackHost: string): string {
  if (hostHeader !== undefined && HOST_PORT.test(hostHeader)) return hostHeader;
  return reachableAt(bound.host, fallbackHost, bound.port);
}

import { readlinkSync } from 'node:fs';
import os from 'node:os';

/**
 * What makes two workers "on the same host" for an ipc:// ring link: the host
 * name and, on Linux, the network namespace. Workers in different namespaces
 * (scripts/multihost.sh's hosts, containers) may share a name and even a file
 * system, but their traffic must stay on their own links.
 */
export function hostId(): string {
  let netns = '';
  try {
    netns = readlinkSync('/proc/self/ns/net');
  } catch {
    // Not Linux: the host name alone.
  }
  return netns ? `${os.hostname()} ${netns}` : os.hostname();
}

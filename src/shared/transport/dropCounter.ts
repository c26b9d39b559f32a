import type { Logger } from '../logger.js';

/**
 * Frames that fail decoding or validation are dropped, counted, and logged once
 * per peer so a hostile or broken peer cannot flood the log.
 */
export class DropCounter {
  private readonly perPeer = new Map<string, number>();
  total = 0;

  constructor(private readonly logger: Logger, private readonly what: string) {}

  drop(peer: string, reason: string): void {
    this.total++;
    const n = (this.perPeer.get(peer) ?? 0) + 1;
    this.perPeer.set(peer, n);
    if (n === 1) this.logger.log('warn', `dropped invalid ${this.what} from ${peer}: ${reason} (further drops from this peer are only counted)`, { peer, reason });
  }
}

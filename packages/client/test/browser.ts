/**
 * Stand-ins for what Node lacks of a browser's tabs: a Web Lock manager (Node 20 has no
 * `navigator.locks`) granting each name to one holder at a time, in order, and a
 * BroadcastChannel hub whose messages are structured clones delivered on a later task to
 * every other member, as a browser's are. Several clients on one hub and one lock manager
 * are several tabs of one browser.
 */
import type { ChannelLike, LockManagerLike } from "../src/index.js";

export interface Locks extends LockManagerLike {
  /** How many times a lock was granted, per name. */
  granted: Map<string, number>;
}

export function lockManager(): Locks {
  const tails = new Map<string, Promise<unknown>>();
  const granted = new Map<string, number>();
  return {
    granted,
    request(name, callback) {
      const run = (tails.get(name) ?? Promise.resolve()).then(() => {
        granted.set(name, (granted.get(name) ?? 0) + 1);
        return callback();
      });
      tails.set(
        name,
        run.catch(() => {}),
      );
      return run;
    },
  };
}

export interface Hub {
  channel: (name: string) => ChannelLike;
  /** Every message posted, with its channel's name. */
  posted: { name: string; data: unknown }[];
}

export function channelHub(): Hub {
  const members = new Set<{ name: string; port: ChannelLike }>();
  const posted: Hub["posted"] = [];
  return {
    posted,
    channel(name) {
      const member = {
        name,
        port: {
          onmessage: null,
          postMessage(data: unknown) {
            posted.push({ name, data: structuredClone(data) });
            for (const other of members) {
              if (other === member || other.name !== name) continue;
              const copy = structuredClone(data);
              setTimeout(() => other.port.onmessage?.({ data: copy }), 0);
            }
          },
          close() {
            members.delete(member);
          },
        } as ChannelLike,
      };
      members.add(member);
      return member.port;
    },
  };
}

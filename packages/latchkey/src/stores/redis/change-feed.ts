/** The Redis `ChangeFeed`: a stream of changes with an epoch, and pub/sub to wake followers. */
import { randomUUID } from "node:crypto";
import type { ChangeFeed } from "../../core/ports.js";
import type { ChangeKind, ChangeRecord } from "../../core/records.js";
import type { RedisClient, RedisLink } from "./client.js";
import * as lua from "./scripts.js";

/**
 * `publish` goes through `link.commit`: a change lost to a failover would be a revocation
 * other instances never apply, and its seq given again to the next change.
 */
export function changeFeed(link: RedisLink, subscriber: RedisClient, p: string): ChangeFeed {
  const { client: redis, commit } = link;
  const feed = `${p}changes`;
  const channel = `${p}changes`;
  const parse = (member: string): ChangeRecord => {
    const [seq, kind, at, ...subject] = member.split("|");
    return { seq: Number(seq), kind: kind as ChangeKind, at: Number(at), subject: subject.join("|") };
  };
  const wakers = new Set<() => void>();
  let subscribed = false;
  subscriber.on("message", () => {
    for (const wake of wakers) wake();
  });
  // After a reconnect, wake the followers so they catch up on what they missed.
  subscriber.on("ready", () => {
    if (subscribed) for (const wake of wakers) wake();
  });
  return {
    async publish(kind, subject, at) {
      await commit((w) => w.eval(lua.PUBLISH, 2, `${feed}:seq`, feed, kind, subject, at, channel));
    },
    async read(afterSeq, notBefore, limit) {
      const members = (await redis.eval(lua.READ_FEED, 1, feed, afterSeq, notBefore, limit)) as string[];
      return members.map(parse);
    },
    async position() {
      const [epoch, seq] = (await redis.eval(
        lua.FEED_POSITION,
        3,
        `${feed}:epoch`,
        `${feed}:seq`,
        feed,
        randomUUID(),
      )) as [string, string];
      return { epoch, seq: Number(seq) };
    },
    async prune(before) {
      let pruned = 0;
      for (;;) {
        const oldest = await redis.zrange(feed, 0, 199);
        const old = oldest.filter((m) => parse(m).at < before);
        if (old.length === 0) return pruned;
        pruned += await redis.zrem(feed, ...old);
        if (old.length < oldest.length) return pruned;
      }
    },
    subscribe(wake) {
      wakers.add(wake);
      if (!subscribed) {
        subscribed = true;
        subscriber.subscribe(channel).catch(() => {
          subscribed = false;
        });
      }
      return () => wakers.delete(wake);
    },
  };
}

/**
 * `replicatedLink` (packages/latchkey/src/stores/redis/client.ts) against a scripted
 * writer: which WAIT vouches for which write. A WAIT covers only the writes its
 * connection answered before it was sent, so a write answered while one is out waits for
 * the next; and a write whose connection changed before its WAIT answered is not vouched
 * for at all.
 */
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { type RedisClient, replicatedLink } from "../../packages/latchkey/src/stores/redis/client.js";

/** A writer whose WAITs answer when the test says, each with the number of replicas it names. */
function scriptedWriter() {
  const emitter = new EventEmitter();
  const waits: Array<{ answer(acks: number): void; fail(error: Error): void }> = [];
  const writer = Object.assign(emitter, {
    pipeline() {
      return {
        exists() {
          return this;
        },
        wait() {
          return this;
        },
        exec() {
          return new Promise<Array<[Error | null, unknown]>>((resolve) => {
            waits.push({
              answer: (acks) =>
                resolve([
                  [null, 0],
                  [null, acks],
                ]),
              fail: (error) =>
                resolve([
                  [null, 0],
                  [error, null],
                ]),
            });
          });
        },
      };
    },
  });
  return { writer: writer as unknown as RedisClient, emitter, waits };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("replicatedLink", () => {
  it("answers a write once a WAIT sent after it says a replica holds it", async () => {
    const { writer, waits } = scriptedWriter();
    const link = replicatedLink(writer, writer, { replicas: 1, anchor: "a", timeoutMs: 10 });
    let done = false;
    const first = link
      .commit(async () => "one")
      .then((value) => {
        done = true;
        return value;
      });
    await tick();
    expect(waits).toHaveLength(1);
    expect(done).toBe(false);
    waits[0]?.answer(1);
    expect(await first).toBe("one");
  });

  it("a write answered while a WAIT is out waits for the next one; writes answered meanwhile share it", async () => {
    const { writer, waits } = scriptedWriter();
    const link = replicatedLink(writer, writer, { replicas: 1, anchor: "a", timeoutMs: 10 });
    const first = link.commit(async () => 1);
    await tick();
    expect(waits).toHaveLength(1);
    const answered: number[] = [];
    const later = [2, 3, 4].map((n) => link.commit(async () => n).then((value) => answered.push(value)));
    await tick();
    // Still one WAIT out: the three wait for the one after it, not for it.
    expect(waits).toHaveLength(1);
    waits[0]?.answer(1);
    await first;
    await tick();
    expect(answered).toEqual([]);
    expect(waits).toHaveLength(2);
    waits[1]?.answer(1);
    await Promise.all(later);
    expect(answered.sort()).toEqual([2, 3, 4]);
    expect(waits).toHaveLength(2);
  });

  it("fails the writes when fewer replicas than asked acknowledge, or the WAIT fails", async () => {
    const { writer, waits } = scriptedWriter();
    const link = replicatedLink(writer, writer, { replicas: 2, anchor: "a", timeoutMs: 10 });
    const short = link.commit(async () => 1);
    await tick();
    waits[0]?.answer(1);
    await expect(short).rejects.toThrow("1 of 2 Redis replicas acknowledged within 10 ms");
    const failing = link.commit(async () => 1);
    await tick();
    waits[1]?.fail(new Error("Connection is closed."));
    await expect(failing).rejects.toThrow("Connection is closed.");
  });

  it("does not vouch for a write whose connection changed before its WAIT answered (a WAIT on a new connection answers at once)", async () => {
    const { writer, emitter, waits } = scriptedWriter();
    const link = replicatedLink(writer, writer, { replicas: 1, anchor: "a", timeoutMs: 10 });
    const write = link.commit(async () => {
      emitter.emit("reconnecting");
      return 1;
    });
    await tick();
    waits[0]?.answer(1);
    await expect(write).rejects.toThrow("the Redis connection changed");
    // The next write, on the connection as it is now, goes through.
    const next = link.commit(async () => 2);
    await tick();
    waits[1]?.answer(1);
    expect(await next).toBe(2);
  });

  it("on a Cluster, a node's own connection closing counts as a change of connection", async () => {
    const { writer, emitter, waits } = scriptedWriter();
    const link = replicatedLink(writer, writer, { replicas: 1, anchor: "a", timeoutMs: 10 });
    const node = new EventEmitter();
    emitter.emit("+node", node);
    const write = link.commit(async () => {
      node.emit("close");
      return 1;
    });
    await tick();
    waits[0]?.answer(1);
    await expect(write).rejects.toThrow("the Redis connection changed");
  });

  it("with no replica to wait for, runs the write on the client and answers at once", async () => {
    const { writer, waits } = scriptedWriter();
    const link = replicatedLink(writer, writer, { replicas: 0, anchor: "a" });
    expect(await link.commit(async (w) => (w === writer ? "same" : "other"))).toBe("same");
    expect(waits).toHaveLength(0);
  });
});

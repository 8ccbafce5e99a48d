/**
 * `REDIS_URL`'s three forms (packages/latchkey/src/stores/redis/topology.ts): what each
 * reads as, and that every wrong one is refused with a reason that never repeats the URL
 * (it may hold a password).
 */
import { describe, expect, it } from "vitest";
import { clusterPrefix, parseRedisUrl } from "../../packages/latchkey/src/stores/redis/topology.js";

describe("parseRedisUrl", () => {
  it("hands redis:// and rediss:// to ioredis as they are", () => {
    expect(parseRedisUrl("redis://127.0.0.1:6379")).toEqual({ kind: "standalone", url: "redis://127.0.0.1:6379" });
    expect(parseRedisUrl("rediss://:pw@cache.example:6380/2")).toEqual({
      kind: "standalone",
      url: "rediss://:pw@cache.example:6380/2",
    });
  });

  it("reads redis+sentinel:// with its Sentinels (port 26379 by default), the primary's name, the database and passwords", () => {
    expect(parseRedisUrl("redis+sentinel://10.0.0.1,10.0.0.2:26380,[::1]/mymaster")).toEqual({
      kind: "sentinel",
      sentinels: [
        { host: "10.0.0.1", port: 26379 },
        { host: "10.0.0.2", port: 26380 },
        { host: "::1", port: 26379 },
      ],
      name: "mymaster",
      db: 0,
    });
    expect(parseRedisUrl("redis+sentinel://app:p%40ss@s1:26379/main/3?sentinelPassword=s%26c+ret")).toEqual({
      kind: "sentinel",
      sentinels: [{ host: "s1", port: 26379 }],
      name: "main",
      db: 3,
      username: "app",
      password: "p@ss",
      // Percent-decoded like the rest: a `+` is a `+`, not a space.
      sentinelPassword: "s&c+ret",
    });
  });

  it("reads redis+cluster:// with its seed nodes (port 6379 by default) and password", () => {
    expect(parseRedisUrl("redis+cluster://:pw@n1,n2:7001")).toEqual({
      kind: "cluster",
      nodes: [
        { host: "n1", port: 6379 },
        { host: "n2", port: 7001 },
      ],
      password: "pw",
    });
  });

  it.each([
    ["localhost:6379", /must be redis:\/\//],
    ["http://localhost", /must be redis:\/\//],
    ["redis://", /valid|host/],
    ["redis+sentinel://s1,s2", /primary's name/],
    ["redis+sentinel://s1/main/x", /\/name or \/name\/db/],
    ["redis+sentinel://s1/main?db=2", /no query parameter but sentinelPassword/],
    ["redis+sentinel://s1/%zz", /percent-encoding/],
    ["redis+cluster://n1/0", /no path/],
    ["redis+cluster://n1?tls=1", /no query parameter/],
    ["redis+cluster://n1:99999", /host:port/],
    ["redis+cluster://n1,,n2", /host:port/],
    ["rediss+sentinel://s1/main", /not supported yet/],
    ["redis+cluster://:%zz@n1", /percent-encoding/],
  ])("refuses %s, saying why", (url, reason) => {
    expect(() => parseRedisUrl(url)).toThrow(reason);
  });

  it("never repeats a password in its reason", () => {
    for (const url of [
      "redis+cluster://:hunter2@n1/0",
      "redis+sentinel://:hunter2@s1",
      "redis+sentinel://:hunter2@s1/m?x=hunter2",
    ]) {
      expect(() => parseRedisUrl(url)).toThrow();
      try {
        parseRedisUrl(url);
      } catch (error) {
        expect(String((error as Error).message)).not.toContain("hunter2");
      }
    }
  });
});

describe("clusterPrefix", () => {
  it("makes the prefix a hash tag, so all of a deployment's keys share one slot, unless it has one", () => {
    expect(clusterPrefix("lk:")).toBe("{lk:}");
    expect(clusterPrefix("{app}:lk:")).toBe("{app}:lk:");
    // `{}` is no tag (Redis hashes the whole key then): wrapped.
    expect(clusterPrefix("{}lk:")).toBe("{{}lk:}");
  });
});

/**
 * Where Redis is: one server (`redis://`, `rediss://`, as ioredis reads them), a primary
 * watched by Sentinels (`redis+sentinel://`), or a Cluster (`redis+cluster://`). ioredis
 * follows both failovers by itself but has no URL for them, so latchkey reads the
 * convention other clients use (redis-py's `redis+sentinel://`, prefect's, RedisVL's):
 *
 *   redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/name[/db][?sentinelPassword=...]
 *   redis+cluster://[[user]:password@]host[:port][,host[:port]...]
 *
 * Sentinels default to port 26379, Cluster nodes to 6379. The user and password are the
 * data nodes'; `sentinelPassword` (percent-encoded) is the Sentinels' own, when they have
 * one. Every part is percent-decoded (a `+` is a `+`). No part of this module loads ioredis, so the server checks `REDIS_URL` with it.
 */

/**
 * One address of a Sentinel or a Cluster node.
 * @example
 * const node: RedisNode = { host: "10.0.0.1", port: 26379 };
 */
export interface RedisNode {
  host: string;
  port: number;
}

/**
 * A parsed `REDIS_URL`.
 * @example
 * const topology: RedisTopology = { kind: "cluster", nodes: [{ host: "10.0.0.5", port: 6379 }] };
 */
export type RedisTopology =
  | { kind: "standalone"; url: string }
  | {
      kind: "sentinel";
      sentinels: RedisNode[];
      /** The primary's name in the Sentinels' configuration (`sentinel monitor <name> ...`). */
      name: string;
      db: number;
      username?: string;
      password?: string;
      sentinelPassword?: string;
    }
  | { kind: "cluster"; nodes: RedisNode[]; username?: string; password?: string };

/**
 * Reads a Redis URL, or throws a `TypeError` that names what is wrong (never repeating
 * the URL, which may hold a password).
 * @example
 * parseRedisUrl("redis+sentinel://10.0.0.1,10.0.0.2,10.0.0.3/mymaster");
 * // { kind: "sentinel", sentinels: [{ host: "10.0.0.1", port: 26379 }, ...], name: "mymaster", db: 0 }
 */
export function parseRedisUrl(url: string): RedisTopology {
  const scheme = /^([a-z0-9+.-]+):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === "redis" || scheme === "rediss") {
    try {
      new URL(url);
    } catch {
      throw new TypeError("is not a valid redis:// URL");
    }
    if (!/^rediss?:\/\/[^/]/i.test(url)) throw new TypeError("names no host");
    return { kind: "standalone", url };
  }
  if (scheme === "rediss+sentinel" || scheme === "rediss+cluster") {
    throw new TypeError(`${scheme}:// (TLS to a Sentinel or Cluster deployment) is not supported yet`);
  }
  if (scheme !== "redis+sentinel" && scheme !== "redis+cluster") {
    throw new TypeError("must be redis://, rediss://, redis+sentinel:// or redis+cluster://");
  }
  const match = /^[^:]+:\/\/(?:([^@/?#]*)@)?([^/?#]+)(\/[^?#]*)?(?:\?([^#]*))?$/.exec(url);
  if (!match) throw new TypeError(`is not a valid ${scheme}:// URL`);
  const [, userinfo, hostList = "", path = "", query = ""] = match;
  const credentials = parseUserinfo(userinfo);
  const defaultPort = scheme === "redis+sentinel" ? 26379 : 6379;
  const nodes = hostList.split(",").map((part) => parseNode(part, defaultPort));
  // Percent-decoded as the userinfo is (a `+` stays a `+`), and never repeated in a message:
  // a mistyped parameter may be a password.
  const params = new Map<string, string>();
  for (const pair of query === "" ? [] : query.split("&")) {
    const equals = pair.indexOf("=");
    const key = equals < 0 ? pair : pair.slice(0, equals);
    params.set(decode(key), equals < 0 ? "" : decode(pair.slice(equals + 1)));
  }
  if (scheme === "redis+cluster") {
    if (path !== "" && path !== "/") {
      throw new TypeError("redis+cluster:// takes no path (a Cluster has database 0 only)");
    }
    if (params.size > 0) throw new TypeError("redis+cluster:// takes no query parameter");
    return { kind: "cluster", nodes, ...credentials };
  }
  const [name = "", db = "0", ...rest] = path.replace(/^\//, "").split("/");
  if (name === "") throw new TypeError("redis+sentinel:// needs the primary's name as its path (/mymaster)");
  if (rest.length > 0 || !/^\d{1,2}$/.test(db)) throw new TypeError("redis+sentinel:// takes /name or /name/db");
  const sentinelPassword = params.get("sentinelPassword");
  if ([...params.keys()].some((key) => key !== "sentinelPassword")) {
    throw new TypeError("redis+sentinel:// takes no query parameter but sentinelPassword");
  }
  return {
    kind: "sentinel",
    sentinels: nodes,
    name: decode(name),
    db: Number(db),
    ...credentials,
    ...(sentinelPassword !== undefined && { sentinelPassword }),
  };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new TypeError("has a part that is not valid percent-encoding");
  }
}

function parseUserinfo(userinfo: string | undefined): { username?: string; password?: string } {
  if (userinfo === undefined || userinfo === "") return {};
  const colon = userinfo.indexOf(":");
  if (colon < 0) return { username: decode(userinfo) };
  const username = decode(userinfo.slice(0, colon));
  return { ...(username !== "" && { username }), password: decode(userinfo.slice(colon + 1)) };
}

function parseNode(part: string, defaultPort: number): RedisNode {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]\s]+)(?::(\d{1,5}))?$/i.exec(part.trim());
  const port = match?.[2] === undefined ? defaultPort : Number(match[2]);
  if (!match?.[1] || port < 1 || port > 65535) throw new TypeError("has a host that is not host or host:port");
  return { host: match[1].replace(/^\[|\]$/g, ""), port };
}

/**
 * The key prefix as a Cluster needs it: every latchkey key of one deployment in one hash
 * slot (`{...}` is the part Redis hashes), so each script's keys are on the node that runs
 * it. A prefix that has a non-empty hash tag already is kept.
 * @example
 * clusterPrefix("lk:"); // "{lk:}"
 */
export function clusterPrefix(prefix: string): string {
  // Redis hashes what is between the first `{` and the first `}` after it, if anything.
  const open = prefix.indexOf("{");
  const close = open < 0 ? -1 : prefix.indexOf("}", open + 1);
  return close > open + 1 ? prefix : `{${prefix}}`;
}

// Helpers the bench scripts share.
import { createServer } from "node:net";

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The keys of `redis` that start with `prefix`, in batches. */
export async function* keysWithPrefix(redis, prefix) {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 10_000);
    cursor = next;
    if (keys.length > 0) yield keys;
  } while (cursor !== "0");
}

/** Deletes every key of `redis` that starts with `prefix`. */
export async function deleteKeysWithPrefix(redis, prefix) {
  for await (const keys of keysWithPrefix(redis, prefix)) await redis.unlink(...keys);
}

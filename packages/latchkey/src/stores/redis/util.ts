/** Small helpers the Redis stores share. */
import type { RedisClient } from "./client.js";
import * as lua from "./scripts.js";
import { compactUserId } from "./session-codec.js";

export const num = (value: string | undefined): number => Number(value ?? 0);

/**
 * EVAL answering a Buffer (a packed session is binary). ioredis has a
 * Buffer-answering variant of every command, EVAL's included, but its types leave that
 * one out; `callBuffer("EVAL", ...)` is not a way around it, as auto-pipelining sends
 * the script itself as the command name.
 */
export function evalBuffer(
  redis: RedisClient,
  script: string,
  keys: string[],
  ...args: string[]
): Promise<Buffer | null> {
  const client = redis as unknown as {
    evalBuffer(script: string, numKeys: number, ...args: string[]): Promise<Buffer | null>;
  };
  return client.evalBuffer(script, keys.length, ...keys, ...args);
}

/** The name of a disabled user's mark. */
export function disabledMarker(prefix: string, userId: string): string {
  return `${prefix}${lua.DISABLED_KEY}${compactUserId(userId)}`;
}

/** The set of sessions a disable ended that the core has not yet been told of. */
export function disableEndedKey(prefix: string, userId: string): string {
  return `${prefix}${lua.DISABLE_ENDED_KEY}${compactUserId(userId)}`;
}

/**
 * How a session is kept in Redis: one MessagePack value per session (the session and its
 * user's public fields), user ids compacted, read back with memoised user ids and agents.
 * Internal: not part of the package's surface.
 */
import { Decoder, Encoder } from "@msgpack/msgpack";
import { memoize } from "../../core/memo.js";
import type { ValidSession } from "../../core/ports.js";
import type { SessionRecord, UserProfile } from "../../core/records.js";
import { packAgent, unpackAgent } from "./agent-codec.js";
import * as lua from "./scripts.js";

/**
 * A session and its user's public fields as one MessagePack array (the layout is in
 * scripts.ts, whose Lua reads and rewrites it). Times after `createdAt` are offsets, so
 * they pack into 5 bytes, not 9; the kind is a one-byte code, the user id a 22-character
 * base64url of its 16 bytes, and the User-Agent is packed with a static dictionary. Text,
 * not MessagePack `bin`: Lua's cmsgpack repacks every string as `str`. One string key per
 * session with no field names: about a quarter of the memory of the hash it replaced
 * (measured by bench/redis-memory.mjs and bench/scale.mjs). Exported for the scale
 * bench's bulk filler, which writes a million sessions exactly as `create` would. Fields
 * are only ever added at the end, so a value of before reads (see `unpackSession`).
 */
export function packSession(session: SessionRecord, user: UserProfile): Uint8Array {
  return encoder.encode([
    compactUserId(session.userId),
    session.secretHash,
    KIND_CODES.indexOf(session.kind),
    session.remember,
    session.createdAt,
    session.lastSeenAt - session.createdAt,
    session.expiresAt - session.createdAt,
    session.idleTimeoutMs,
    session.idleExpiresAt - session.lastSeenAt,
    session.ip,
    packAgent(session.userAgent),
    user.username,
    user.createdAt,
    user.roles,
    user.rolesAt,
    session.previousSecretHash ?? "",
    session.secretRotatedAt - session.createdAt,
    session.authTime - session.createdAt,
    session.amr,
  ]);
}

/**
 * One encoder and one decoder for the process: the library's `encode`/`decode` make a new
 * one (with its buffers) on every call, which showed as garbage-collector time on every
 * Redis-backed request. Both are synchronous, and re-entrant (they clone themselves when
 * re-entered); `encode` returns a copy, never a view of the shared buffer.
 */
export const encoder = new Encoder();

export const decoder = new Decoder();

/** A session's kind as its index here (append only: stored values refer to it). */
export const KIND_CODES: readonly SessionRecord["kind"][] = ["session", "jwt", "hybrid", "bearer", "memory"];

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A user id as stored in a session and in the name of the user's index: a lowercase UUID
 * as the base64url of its 16 bytes (22 characters, not 36), anything else verbatim after
 * `=`, which base64url never contains, so two ids never share a form.
 */
export function compactUserId(id: string): string {
  return UUID.test(id) ? Buffer.from(id.replaceAll("-", ""), "hex").toString("base64url") : `=${id}`;
}

/**
 * The names of a session's key and of its user's index, under a key prefix. Exported,
 * like `packSession`, for the scale bench's bulk filler.
 */
export function sessionKeys(prefix: string): { session(id: string): string; userIndex(userId: string): string } {
  return {
    session: (id) => `${prefix}${lua.SESSION_KEY}${id}`,
    userIndex: (userId) => `${prefix}${lua.USER_INDEX_KEY}${compactUserId(userId)}`,
  };
}

/** The inverse of `compactUserId`. */
export function expandUserId(compact: string): string {
  if (compact.startsWith("=")) return compact.slice(1);
  const hex = Buffer.from(compact, "base64url").toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export type PackedSession = [
  userId: string,
  secretHash: string,
  kind: number,
  remember: boolean,
  createdAt: number,
  lastSeenOffset: number,
  expiresOffset: number,
  idleTimeoutMs: number,
  idleExpiresOffset: number,
  ip: string,
  userAgent: string,
  username: string,
  userCreatedAt: number,
  /** Absent from values written before roles: read as `["user"]`, set at 0. */
  roles?: string[] | null,
  rolesAt?: number | null,
  /** Absent from values written before renewal: read as none and 0 (renewed at login). */
  previousSecretHash?: string | null,
  secretRotatedOffset?: number | null,
  /** Absent from values written before re-authentication: read as signed in with a password at login. */
  authTimeOffset?: number | null,
  amr?: string[] | null,
];

// A session's user id and User-Agent unpack to the same strings on every request that
// reads it: the last few thousand are kept (unpacking the agent is a regular-expression
// replace with a callback, the id a base64 decode and a hex format).
export const userIdOf = memoize(expandUserId, 4096);

export const agentOf = memoize(unpackAgent, 4096);

export function unpackSession(id: string, packed: Uint8Array): ValidSession {
  const f = decoder.decode(packed) as PackedSession;
  const userId = userIdOf(f[0]);
  const createdAt = f[4];
  const lastSeenAt = createdAt + f[5];
  return {
    session: {
      id,
      userId,
      secretHash: f[1],
      kind: KIND_CODES[f[2]] as SessionRecord["kind"],
      remember: f[3],
      createdAt,
      lastSeenAt,
      expiresAt: createdAt + f[6],
      idleTimeoutMs: f[7],
      idleExpiresAt: lastSeenAt + f[8],
      ip: f[9],
      userAgent: agentOf(f[10]),
      // Lua cannot keep a nil in an array: '' is "no previous secret".
      previousSecretHash: f[15] || null,
      secretRotatedAt: createdAt + (f[16] ?? 0),
      authTime: createdAt + (f[17] ?? 0),
      // Lua packs an empty table as a map: only a list of names counts.
      amr: Array.isArray(f[18]) && f[18].length > 0 ? f[18] : ["pwd"],
    },
    // A disabled user has no session here: disabling ends them all and refuses new ones.
    // A value written before roles has none: its user had `["user"]` then, and any change
    // since rewrote it (`users.setRoles`); 0 is older than any change on the feed.
    user: {
      id: userId,
      username: f[11],
      createdAt: f[12],
      disabledAt: null,
      roles: f[13] ?? ["user"],
      rolesAt: f[14] ?? 0,
    },
  };
}

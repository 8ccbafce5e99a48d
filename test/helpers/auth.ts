/**
 * The core over a set of stores, with the contract's defaults and the real argon2id
 * hasher, for tests that run several instances (`createAuth` per simulated process).
 */
import {
  type Auth,
  type AuthOptions,
  createAuth,
  DEFAULT_SESSION_POLICY,
  DEFAULT_THROTTLE_POLICY,
  DEFAULT_TOKEN_POLICY,
} from "../../packages/latchkey/src/core/auth.js";
import { argon2Hasher } from "../../packages/latchkey/src/core/password-hasher.js";
import type { Stores } from "../../packages/latchkey/src/core/ports.js";

/**
 * @example
 * const auth = await openTestAuth(stores, { hashQueue: 1000 });
 */
export function openTestAuth(stores: Stores, overrides: Partial<AuthOptions> = {}): Promise<Auth> {
  return createAuth({
    stores,
    hasher: argon2Hasher(),
    sessions: DEFAULT_SESSION_POLICY,
    throttle: DEFAULT_THROTTLE_POLICY,
    tokens: { ...DEFAULT_TOKEN_POLICY, issuer: "http://localhost:3000" },
    ...overrides,
  });
}

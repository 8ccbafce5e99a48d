/**
 * In-process stores: for tests, demos and single-process library use. Nothing survives a
 * restart, and nothing is shared between processes (the change feed reaches only
 * followers in this process). One file per port beside this one.
 */
import type { Stores } from "../../core/ports.js";
import { auditStore } from "./audit.js";
import { changeFeed } from "./change-feed.js";
import { counterStore } from "./counters.js";
import { eventStore } from "./events.js";
import { challengeStore, factorStore } from "./factors.js";
import { keyStore } from "./keys.js";
import { linkTokenStore } from "./links.js";
import { refreshTokenStore } from "./refresh-tokens.js";
import { secretStore } from "./secrets.js";
import { serviceStore } from "./services.js";
import { sessionStore } from "./sessions.js";
import type { State } from "./state.js";
import { userStore } from "./users.js";

/**
 * @example
 * const stores = createMemoryStores();
 * const auth = await createAuth({
 *   stores,
 *   sessions: DEFAULT_SESSION_POLICY,
 *   throttle: DEFAULT_THROTTLE_POLICY,
 *   tokens: { ...DEFAULT_TOKEN_POLICY, issuer: "http://localhost:3000" },
 * });
 */
export function createMemoryStores(): Stores {
  const state: State = {
    users: new Map(),
    emails: new Map(),
    sessions: new Map(),
    refreshTokens: new Map(),
    keys: [],
    events: [],
    counters: new Map(),
    changes: [],
    secrets: new Map(),
    services: new Map(),
    audit: [],
    links: new Map(),
    factors: new Map(),
    recoveryCodes: new Map(),
    challenges: new Map(),
    wakers: new Set(),
  };
  return {
    users: userStore(state),
    sessions: sessionStore(state),
    refreshTokens: refreshTokenStore(state),
    keys: keyStore(state),
    events: eventStore(state),
    counters: counterStore(state),
    changes: changeFeed(state),
    secrets: secretStore(state),
    services: serviceStore(state),
    audit: auditStore(state),
    links: linkTokenStore(state),
    factors: factorStore(state),
    challenges: challengeStore(state),
    ping: async () => {},
    close: async () => {},
  };
}

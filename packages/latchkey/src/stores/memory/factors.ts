/** The memory `FactorStore` and `ChallengeStore`. */
import type { ChallengeStore, FactorStore } from "../../core/ports.js";
import type { ChallengeRecord, FactorRecord } from "../../core/records.js";
import { copy, type State } from "./state.js";

/** Created earlier, or at the same instant with a smaller id: the SQL stores' order. */
const byAge = (a: FactorRecord, b: FactorRecord) =>
  a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

const isOpen = (challenge: ChallengeRecord, now: number) => challenge.usedAt === null && now < challenge.expiresAt;

// No await between a check and its write in any method below: of racing calls, the first
// one wins, as the SQL stores' conditional UPDATEs let exactly one match.

export function factorStore(state: State): FactorStore {
  return {
    async listByUser(userId) {
      return [...state.factors.values()]
        .filter((f) => f.userId === userId)
        .sort(byAge)
        .map(copy);
    },
    find: async (id) => {
      const factor = state.factors.get(id);
      return factor ? copy(factor) : null;
    },
    async findByCredential(credentialId) {
      const factor = [...state.factors.values()].find((f) => f.credentialId === credentialId);
      return factor ? copy(factor) : null;
    },
    async create(factor) {
      // A credential id is unique among factors, as the SQL stores' unique index has it.
      if (
        factor.credentialId !== null &&
        [...state.factors.values()].some((f) => f.credentialId === factor.credentialId)
      ) {
        return false;
      }
      state.factors.set(factor.id, copy(factor));
      return true;
    },
    async confirm(id, at, step) {
      const factor = state.factors.get(id);
      if (!factor || factor.confirmedAt !== null) return false;
      // One authenticator app per account, as the SQL stores' unique index has it.
      const another = [...state.factors.values()].some(
        (f) => f.userId === factor.userId && f.kind === "totp" && factor.kind === "totp" && f.confirmedAt !== null,
      );
      if (another) return false;
      factor.confirmedAt = at;
      factor.lastStep = step;
      return true;
    },
    async useStep(id, step, at) {
      const factor = state.factors.get(id);
      if (!factor || factor.confirmedAt === null) return false;
      if (factor.lastStep !== null && factor.lastStep >= step) return false;
      factor.lastStep = step;
      factor.lastUsedAt = at;
      return true;
    },
    async usePasskey(id, signCount, at) {
      const factor = state.factors.get(id);
      if (factor?.kind !== "passkey") return false;
      const stored = factor.signCount ?? 0;
      if (!(signCount > stored || (signCount === 0 && stored === 0))) return false;
      factor.signCount = signCount;
      factor.lastUsedAt = at;
      return true;
    },
    async rename(id, name) {
      const factor = state.factors.get(id);
      if (!factor) return false;
      factor.name = name;
      return true;
    },
    async updateSecret(id, secret) {
      const factor = state.factors.get(id);
      if (!factor) return false;
      factor.secret = secret;
      return true;
    },
    delete: async (id) => state.factors.delete(id),
    async deletePending(userId, kind) {
      let deleted = 0;
      for (const [id, factor] of state.factors) {
        if (factor.userId !== userId || factor.confirmedAt !== null) continue;
        if (kind !== undefined && factor.kind !== kind) continue;
        state.factors.delete(id);
        deleted++;
      }
      return deleted;
    },
    async replaceRecoveryCodes(userId, hashes, at) {
      state.recoveryCodes.set(userId, new Map(hashes.map((hash) => [hash, { createdAt: at, usedAt: null }])));
    },
    async useRecoveryCode(userId, hash, at) {
      const code = state.recoveryCodes.get(userId)?.get(hash);
      if (!code || code.usedAt !== null) return false;
      code.usedAt = at;
      return true;
    },
    async countRecoveryCodes(userId) {
      let unused = 0;
      for (const code of state.recoveryCodes.get(userId)?.values() ?? []) if (code.usedAt === null) unused++;
      return unused;
    },
    async deleteRecoveryCodes(userId) {
      const deleted = state.recoveryCodes.get(userId)?.size ?? 0;
      state.recoveryCodes.delete(userId);
      return deleted;
    },
  };
}

export function challengeStore(state: State): ChallengeStore {
  return {
    async create(challenge) {
      state.challenges.set(challenge.id, copy(challenge));
    },
    find: async (id) => {
      const challenge = state.challenges.get(id);
      return challenge ? copy(challenge) : null;
    },
    async fail(id, now) {
      const challenge = state.challenges.get(id);
      if (!challenge || !isOpen(challenge, now)) return null;
      challenge.failures++;
      return challenge.failures;
    },
    async use(id, now) {
      const challenge = state.challenges.get(id);
      if (!challenge || !isOpen(challenge, now)) return false;
      challenge.usedAt = now;
      return true;
    },
    async deleteByUser(userId) {
      let deleted = 0;
      for (const [id, challenge] of state.challenges) {
        if (challenge.userId !== userId) continue;
        state.challenges.delete(id);
        deleted++;
      }
      return deleted;
    },
    async sweepExpired(now, limit) {
      let deleted = 0;
      for (const [id, challenge] of state.challenges) {
        if (deleted >= limit) break;
        if (challenge.expiresAt <= now) {
          state.challenges.delete(id);
          deleted++;
        }
      }
      return deleted;
    },
  };
}

/**
 * Issue 24, item 4 on every store: a login shed by a full hashing queue (a real queue of
 * one, not a mock) gives its attempt back, so a flood of unknown-user logins cannot lock the
 * account whose owner keeps trying the right password. The counters live in each store
 * (memory, SQLite, PostgreSQL, Redis), and the give-back is a `release` in each.
 */
import { afterEach, expect, it } from "vitest";
import type { Auth } from "../../packages/latchkey/src/core/auth.js";
import { DEFAULT_THROTTLE_POLICY } from "../../packages/latchkey/src/core/auth.js";
import { OverloadedError, RateLimitedError } from "../../packages/latchkey/src/core/errors.js";
import { openTestAuth } from "../helpers/auth.js";
import { describeWith } from "../helpers/services.js";
import { BACKENDS } from "./backends.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const PASSWORD = "correct horse battery staple";
async function outcome(auth: Auth, username: string, password: string, ip: string): Promise<string> {
  return auth.accounts.authenticate(username, password, { ip, userAgent: "t" }).then(
    () => "ok",
    (e: unknown) => (e instanceof OverloadedError ? "shed" : e instanceof RateLimitedError ? "throttled" : "wrong"),
  );
}

for (const backend of BACKENDS) {
  describeWith(backend.service?.name ?? "", backend.service?.available ?? true)(
    `login throttle gives back what it did not check: ${backend.name}`,
    () => {
      it("security: right-password logins shed by a full hashing queue never lock the account (issue 24, item 4)", async () => {
        const opened = await backend.open();
        cleanups.push(() => opened.cleanup());
        // The default hasher behind a queue of one: past it, a hash is refused at once.
        const auth = await openTestAuth(opened.stores, { hasher: undefined, hashQueue: 1 });
        cleanups.push(async () => auth.stop());
        await auth.accounts.register("victim", PASSWORD);
        const victimCount = async () =>
          (await opened.stores.counters.peek("login:account:victim", auth.clock.now()))?.count ?? 0;
        // A flood of unknown-user logins from 16 addresses that keeps the queue full.
        let flooding = true;
        const flooders = Array.from({ length: 16 }, async (_, i) => {
          for (let n = 0; flooding; n++) {
            await outcome(auth, `ghost${i}x${n}`, "wrong guess", `10.${i}.${n % 250}.1`);
            // A shed attempt on the memory store settles in microtasks: yield to the loop.
            await new Promise((resolve) => setImmediate(resolve));
          }
        });
        const owner: string[] = [];
        const countAfterShed: number[] = [];
        while (owner.length < 60 && countAfterShed.length < 2 * DEFAULT_THROTTLE_POLICY.maxFailures) {
          // A moment for the flood to refill the queue (the owner's own answer may have just freed it).
          await new Promise((resolve) => setTimeout(resolve, 5));
          const answer = await outcome(auth, "victim", PASSWORD, "192.0.2.200");
          owner.push(answer);
          if (answer === "shed") countAfterShed.push(await victimCount());
        }
        flooding = false;
        await Promise.all(flooders);
        // Shed or served, never throttled; and a shed attempt left nothing counted.
        expect(owner.filter((o) => o !== "shed" && o !== "ok")).toEqual([]);
        expect(countAfterShed.length).toBe(2 * DEFAULT_THROTTLE_POLICY.maxFailures);
        expect(countAfterShed).toEqual(countAfterShed.map(() => 0));
        expect(await outcome(auth, "victim", PASSWORD, "192.0.2.201")).toBe("ok");
      });
    },
  );
}

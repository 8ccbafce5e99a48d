// A service in the soak (issue 24): a process's worth of `latchkey/verify`, following the
// revocation feed's event stream through nginx with credentials of its own, as a resource
// service does. Every access token the ledger marks ended is presented to it from a second
// after its end: it must be refused (401). One still accepted 5 s after its end is missed;
// one that only meets 503 (the verifier failing closed while a fault lasts) for 30 s is
// unconfirmed, never counted as refused.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../packages/server/bin/latchkey.js", import.meta.url));
const CHECK_AFTER_MS = 1000;
const MISSED_AFTER_MS = 5000;
const GIVE_UP_MS = 30_000;

export async function startServiceWatch({ origin, env, ctx }) {
  const created = spawnSync(process.execPath, [BIN, "services", "create", `soak-${Date.now()}`, "--json"], {
    env: { ...process.env, ...env, PUBLIC_ORIGIN: origin },
    encoding: "utf8",
  });
  if (created.status !== 0) throw new Error(`latchkey services create failed: ${created.stderr}`);
  const { client_id, client_secret } = JSON.parse(created.stdout);
  const { createVerifier, VerifyError } = await import("../../packages/verify/dist/index.js");
  const verifier = createVerifier({
    issuer: origin,
    credentials: { clientId: client_id, clientSecret: client_secret },
  });
  await verifier.ready();

  const figures = { presented: 0, refusedWithin1s: 0, refusedLater: 0, missed: 0, unconfirmed: 0, missedDetails: [] };
  const pending = [];
  let seen = 0;
  let stopped = false;
  const tick = async () => {
    const now = Date.now();
    for (; seen < ctx.dead.length; seen++) {
      const credential = ctx.dead[seen];
      if (credential.kind === "bearer")
        pending.push({ token: credential.token, sessionId: credential.sessionId, endedAt: now });
    }
    for (const item of [...pending]) {
      const age = Date.now() - item.endedAt;
      if (age < CHECK_AFTER_MS) continue;
      const outcome = await verifier.verify(item.token).then(
        () => "accepted",
        (error) => (error instanceof VerifyError ? error.statusCode : "error"),
      );
      const done = () => pending.splice(pending.indexOf(item), 1);
      if (outcome === 401) {
        figures.presented += 1;
        if (item.answered503 || age > CHECK_AFTER_MS + 1000) figures.refusedLater += 1;
        else figures.refusedWithin1s += 1;
        done();
      } else if (outcome === "accepted" && age >= MISSED_AFTER_MS) {
        figures.presented += 1;
        figures.missed += 1;
        if (figures.missedDetails.length < 20) figures.missedDetails.push({ sessionId: item.sessionId, ageMs: age });
        done();
      } else if (age >= GIVE_UP_MS) {
        figures.presented += 1;
        figures.unconfirmed += 1;
        done();
      } else if (outcome !== "accepted") item.answered503 = true;
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await tick();
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  return {
    figures,
    /** Checks what is still pending (up to their deadlines), then stops. */
    async stop() {
      const deadline = Date.now() + GIVE_UP_MS + 1000;
      while (pending.length > 0 && Date.now() < deadline) {
        await tick();
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      stopped = true;
      await loop;
      verifier.close();
      return figures;
    },
  };
}

/**
 * `POST /auth/password/forgot` and `POST /auth/email/verification` say nothing about
 * whether an account has the address: the same status, body and headers, and the same
 * timing (the lookup and the mail happen after the answer). And their limits: per target
 * address (known or not) and per client address, with `Retry-After`.
 */
import { performance } from "node:perf_hooks";
import type { LightMyRequestResponse } from "fastify";
import { describe, expect, it } from "vitest";
import { type Harness, PASSWORD, uniqueName } from "../helpers/harness.js";
import { useMailing } from "../helpers/mail.js";
import type { TestSmtp } from "../helpers/smtp.js";

/** Headers that differ by nature between two answers. */
const VARYING = new Set(["date", "x-request-id", "request-id"]);

function comparable(response: LightMyRequestResponse) {
  const headers = Object.fromEntries(Object.entries(response.headers).filter(([name]) => !VARYING.has(name)));
  return { status: response.statusCode, body: response.body, headers };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

async function registerWithEmail(h: Harness, email: string) {
  const response = await h.client().post("/auth/register", { username: uniqueName("enum"), password: PASSWORD, email });
  expect(response.statusCode, response.body).toBe(201);
}

describe("forgot and resend answer the same for known and unknown addresses", () => {
  let h: Harness;
  useMailing((started) => ({ h } = started));

  it.each(["/auth/password/forgot", "/auth/email/verification"])(
    "%s: identical status, body and headers",
    async (url) => {
      const known = `${uniqueName("known")}@example.com`;
      await registerWithEmail(h, known);
      const unknown = `${uniqueName("unknown")}@example.com`;
      const a = await h.client().post(url, { email: known });
      const b = await h.client().post(url, { email: unknown });
      expect(a.statusCode).toBe(202);
      expect(comparable(a)).toEqual(comparable(b));
      await h.server.auth.email.idle();
    },
  );

  it("forgot: the medians of known and unknown addresses are alike (the answer comes before the lookup)", async () => {
    const known = `${uniqueName("timed")}@example.com`;
    await registerWithEmail(h, known);
    const unknown = `${uniqueName("ghost")}@example.com`;
    const send = async (email: string) => {
      const started = performance.now();
      const response = await h.client().post("/auth/password/forgot", { email });
      const took = performance.now() - started;
      expect(response.statusCode).toBe(202);
      return took;
    };
    // Warm-up: JIT, the store's prepared statements, the SMTP connection pool.
    for (let i = 0; i < 10; i++) {
      await send(known);
      await send(unknown);
    }
    await h.server.auth.email.idle();
    const times = { known: [] as number[], unknown: [] as number[] };
    for (let i = 0; i < 30; i++) {
      // Alternating, and the mail work of one request settled before the next, so neither
      // side pays for the other's background work.
      times.known.push(await send(known));
      await h.server.auth.email.idle();
      times.unknown.push(await send(unknown));
      await h.server.auth.email.idle();
    }
    const medians = { known: median(times.known), unknown: median(times.unknown) };
    const ratio = medians.known / medians.unknown;
    console.log(
      `forgot timing, 30 each: median known ${medians.known.toFixed(3)} ms, unknown ${medians.unknown.toFixed(3)} ms, ratio ${ratio.toFixed(2)}`,
    );
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });

  it("forgot answers 202 without waiting for the address lookup", async () => {
    const users = h.stores.users;
    const own = Object.getOwnPropertyDescriptor(users, "findByEmail");
    // A lookup that hangs until the test lets it go (a store that is slow, or down).
    let release = () => {};
    const stalled = new Promise<null>((resolve) => {
      release = () => resolve(null);
    });
    users.findByEmail = () => stalled;
    let timer: NodeJS.Timeout | undefined;
    try {
      const answered = h.client().post("/auth/password/forgot", { email: `${uniqueName("slow")}@example.com` });
      const waited = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("forgot waited for the address lookup")), 2000);
      });
      const response = await Promise.race([answered, waited]);
      expect(response.statusCode, response.body).toBe(202);
      expect(response.json()).toEqual({});
    } finally {
      clearTimeout(timer);
      // Back as it was: an own property again, or the class's method.
      if (own) Object.defineProperty(users, "findByEmail", own);
      else delete (users as Partial<typeof users>).findByEmail;
      release();
      await h.server.auth.email.idle();
    }
  });
});

describe("mail-sending requests are limited", () => {
  let smtp: TestSmtp;
  let h: Harness;
  useMailing((started) => ({ smtp, h } = started), { MAIL_ACCOUNT_MAX: "3", MAIL_ADDRESS_MAX: "8" });

  it("past MAIL_ACCOUNT_MAX forgets for one address: 429 with Retry-After, known and unknown alike", async () => {
    const known = `${uniqueName("flood")}@example.com`;
    await registerWithEmail(h, known);
    const unknown = `${uniqueName("floodghost")}@example.com`;
    const answers: Record<string, LightMyRequestResponse[]> = { known: [], unknown: [] };
    for (let i = 0; i < 4; i++) {
      // A new client address each time: the per-address limit is not what is under test.
      answers.known?.push(
        await h.client({ ip: `198.51.100.${i + 1}` }).post("/auth/password/forgot", { email: known }),
      );
      answers.unknown?.push(
        await h.client({ ip: `198.51.100.${i + 101}` }).post("/auth/password/forgot", { email: unknown }),
      );
    }
    for (const side of ["known", "unknown"] as const) {
      const statuses = answers[side]?.map((r) => r.statusCode);
      expect(statuses, side).toEqual([202, 202, 202, 429]);
      const limited = answers[side]?.[3] as LightMyRequestResponse;
      expect(limited.json().error.code).toBe("rate_limited");
      expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    }
    expect(comparable(answers.known?.[3] as LightMyRequestResponse)).toEqual(
      comparable(answers.unknown?.[3] as LightMyRequestResponse),
    );
    // Another spelling of the same address is the same address.
    const spelled = await h
      .client({ ip: "198.51.100.200" })
      .post("/auth/password/forgot", { email: known.toUpperCase() });
    expect(spelled.statusCode).toBe(429);
    await h.server.auth.email.idle();
    // Three mails reached the known address, none more.
    expect(smtp.messages.filter((m) => m.subject?.match(/reset/i)).length).toBe(3);
  });

  it("past MAIL_ADDRESS_MAX from one client address: 429 with Retry-After, whatever the target", async () => {
    const c = h.client({ ip: "203.0.113.9" });
    const statuses: number[] = [];
    let last: LightMyRequestResponse | undefined;
    for (let i = 0; i < 9; i++) {
      last = await c.post("/auth/password/forgot", { email: `${uniqueName("spray")}@example.com` });
      statuses.push(last.statusCode);
    }
    expect(statuses).toEqual([202, 202, 202, 202, 202, 202, 202, 202, 429]);
    expect(last?.json().error.code).toBe("rate_limited");
    expect(Number(last?.headers["retry-after"])).toBeGreaterThan(0);
    // The resend shares the per-client limit.
    const resend = await c.post("/auth/email/verification", { email: `${uniqueName("spray")}@example.com` });
    expect(resend.statusCode).toBe(429);
    // Another client is not affected.
    const other = await h.client({ ip: "203.0.113.10" }).post("/auth/password/forgot", {
      email: `${uniqueName("spray")}@example.com`,
    });
    expect(other.statusCode).toBe(202);
  });
});

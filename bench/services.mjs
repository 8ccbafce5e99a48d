#!/usr/bin/env node
/**
 * What it costs a service to trust latchkey, each way (`npm run bench:services`, after
 * `npm run build`), on one latchkey (SQLite) on this machine:
 *   1. per request, in the service: a token checked with the JWKS alone, with
 *      `latchkey/verify` (the JWKS plus the revocation set), or asked of latchkey
 *      (introspection: a round trip, and latchkey's CPU per question);
 *   2. the time from a logout's answer to the service refusing the token: `latchkey/verify`
 *      polling the JSON feed every 500 ms, or on the event stream (its default);
 *   3. latchkey's load per subscriber: 100 event-stream subscribers, idle and while
 *      sessions end, against 100 services polling the JSON feed every 500 ms;
 *   4. what 100 event-stream subscribers cost the API: `/auth/me`'s throughput with and
 *      without them, in alternating windows (target: under 5%).
 * Times are medians (p50) and maxima over the rounds; CPU is latchkey's own, from
 * /proc/<pid>/stat, so the load generator is not counted.
 *
 *   npm run bench:services
 *   BENCH_ROUNDS=20 BENCH_SECONDS=10      # logouts timed per way, and each CPU window (the defaults)
 *   BENCH_ROUNDS=1 BENCH_SECONDS=1 npm run bench:services
 *                                         # a smoke run (test/docs/bench-commands.test.ts): measures nothing
 */
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createVerifier } from "@latchkey/verify";
import autocannon from "autocannon";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { startProbedServer } from "./lib.mjs";

const ORIGIN = "http://localhost:1";
const PASSWORD = "correct horse battery staple";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const WINDOW_MS = Number(process.env.BENCH_SECONDS ?? 10) * 1000;
const file = join(tmpdir(), `latchkey-services-${process.pid}.db`);
const database = `sqlite:${file}`;
const server = await startProbedServer({
  PUBLIC_ORIGIN: ORIGIN,
  DATABASE_URL: database,
  LOGIN_ADDRESS_MAX_FAILURES: "100000",
  // One service's 100 subscribers measure the cost per stream; a service needs one.
  STREAMS_PER_SERVICE: "1000",
  REGISTER_ADDRESS_MAX: "100000",
});
const { base } = server;

const cpuMs = () => {
  const fields = readFileSync(`/proc/${server.pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10; // 100 Hz ticks
};
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const max = (values) => Math.max(...values);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const created = spawnSync(
  process.execPath,
  ["packages/server/bin/latchkey.js", "services", "create", "bench", "--json"],
  {
    env: { PATH: process.env.PATH, DATABASE_URL: database, PUBLIC_ORIGIN: ORIGIN },
    encoding: "utf8",
  },
);
const { client_id, client_secret } = JSON.parse(created.stdout);
const basic = `Basic ${Buffer.from(`${client_id}:${client_secret}`).toString("base64")}`;
const json = { "content-type": "application/json", origin: ORIGIN };
let users = 0;
async function signIn() {
  const username = `bench${++users}`;
  await fetch(`${base}/auth/register`, {
    method: "POST",
    headers: json,
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  const answer = await fetch(`${base}/auth/token`, {
    method: "POST",
    headers: json,
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  return (await answer.json()).access_token;
}
const logout = (token) =>
  fetch(`${base}/auth/logout`, { method: "POST", headers: { origin: ORIGIN, authorization: `Bearer ${token}` } });

/**
 * An event-stream subscriber of the revocation feed: `onEvents` hears how many revocations
 * each chunk carried; the controller it resolves to ends the subscription.
 */
async function subscribe(onEvents) {
  const controller = new AbortController();
  const answer = await fetch(`${base}/auth/revocations`, {
    headers: { authorization: basic, accept: "text/event-stream" },
    signal: controller.signal,
  });
  (async () => {
    try {
      for await (const chunk of answer.body)
        onEvents(
          (
            Buffer.from(chunk)
              .toString()
              .match(/event: revocation/g) ?? []
          ).length,
        );
    } catch {}
  })();
  return controller;
}

const results = {};

// 1. Per request, in the service.
{
  const token = await signIn();
  const jwks = createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`));
  const verifier = createVerifier({
    issuer: ORIGIN,
    baseUrl: base,
    credentials: { clientId: client_id, clientSecret: client_secret },
  });
  await verifier.ready();
  const time = async (n, run) => {
    for (let i = 0; i < 200; i++) await run(); // warm up
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await run();
    return Number(process.hrtime.bigint() - start) / 1000 / n;
  };
  const jwksOnly = await time(5000, () => jwtVerify(token, jwks, { issuer: ORIGIN, audience: ORIGIN, typ: "at+jwt" }));
  const local = await time(5000, () => verifier.verify(token));
  const cpuBefore = cpuMs();
  const introspection = await time(1000, async () => {
    const answer = await fetch(`${base}/auth/introspect`, {
      method: "POST",
      headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded" },
      body: `token=${token}`,
    });
    await answer.json();
  });
  const introspectionCpu = ((cpuMs() - cpuBefore) * 1000) / (1000 + 200);
  verifier.close();
  results.perRequest = {
    jwksOnlyUs: jwksOnly,
    verifyUs: local,
    introspectionUs: introspection,
    introspectionLatchkeyCpuUs: introspectionCpu,
  };
}

// 2. Time to refuse after a logout.
{
  const timeToRefuse = async (follow) => {
    const verifier = createVerifier({
      issuer: ORIGIN,
      baseUrl: base,
      credentials: { clientId: client_id, clientSecret: client_secret },
      follow,
    });
    await verifier.ready();
    await sleep(200); // the stream connected
    const times = [];
    for (let round = 0; round < ROUNDS; round++) {
      const token = await signIn();
      await verifier.verify(token);
      await logout(token);
      const start = performance.now();
      for (;;) {
        const refused = await verifier.verify(token).then(
          () => false,
          () => true,
        );
        if (refused) break;
        await sleep(1);
      }
      times.push(performance.now() - start);
    }
    verifier.close();
    return times;
  };
  const polling = await timeToRefuse("poll");
  const verifyStreaming = await timeToRefuse("stream");

  const streamed = [];
  const seen = new Map();
  const controller = new AbortController();
  const stream = await fetch(`${base}/auth/revocations`, {
    headers: { authorization: basic, accept: "text/event-stream" },
    signal: controller.signal,
  });
  (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of stream.body) {
        buffer += decoder.decode(chunk, { stream: true });
        for (const match of buffer.matchAll(/"sid":"([^"]+)"/g)) seen.set(match[1], performance.now());
        buffer = buffer.slice(buffer.lastIndexOf("\n\n") + 2);
      }
    } catch {}
  })();
  for (let round = 0; round < ROUNDS; round++) {
    const token = await signIn();
    const sid = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()).sid;
    await logout(token);
    const start = performance.now();
    while (!seen.has(sid)) await sleep(1);
    streamed.push(Math.max(0, seen.get(sid) - start));
  }
  controller.abort();
  results.timeToRefuse = {
    pollingP50Ms: median(polling),
    pollingMaxMs: max(polling),
    verifyStreamP50Ms: median(verifyStreaming),
    verifyStreamMaxMs: max(verifyStreaming),
    streamP50Ms: median(streamed),
    streamMaxMs: max(streamed),
  };
}

// 3. latchkey's load per subscriber.
{
  const SUBSCRIBERS = 100;
  // latchkey's own idle cost (its follower polls the store), to subtract.
  let cpu = cpuMs();
  await sleep(WINDOW_MS);
  const baselineCpuPerSecond = (cpuMs() - cpu) / (WINDOW_MS / 1000);
  const controllers = [];
  let events = 0;
  for (let i = 0; i < SUBSCRIBERS; i++) {
    controllers.push(
      await subscribe((count) => {
        events += count;
      }),
    );
  }
  await sleep(1000);
  cpu = cpuMs();
  await sleep(WINDOW_MS);
  const idleCpuPerSecond = (cpuMs() - cpu) / (WINDOW_MS / 1000);
  const tokens = [];
  for (let i = 0; i < 50; i++) tokens.push(await signIn());
  events = 0;
  cpu = cpuMs();
  const startEnding = performance.now();
  for (const token of tokens) await logout(token);
  while (events < tokens.length * SUBSCRIBERS && performance.now() - startEnding < 10_000) await sleep(10);
  const endingCpu = cpuMs() - cpu;
  for (const controller of controllers) controller.abort();
  // The same session ends told to 100 pollers instead: each reads the JSON feed every 500 ms.
  await sleep(500);
  cpu = cpuMs();
  const pollUntil = performance.now() + WINDOW_MS;
  await Promise.all(
    Array.from({ length: SUBSCRIBERS }, async () => {
      let since;
      while (performance.now() < pollUntil) {
        const answer = await fetch(`${base}/auth/revocations${since ? `?since=${since}` : ""}`, {
          headers: { authorization: basic },
        });
        since = (await answer.json()).cursor;
        await sleep(500);
      }
    }),
  );
  const pollingCpuPerSecond = (cpuMs() - cpu) / (WINDOW_MS / 1000);
  results.load = {
    subscribers: SUBSCRIBERS,
    baselineCpuMsPerSecond: baselineCpuPerSecond,
    streamIdleCpuMsPerSecond: idleCpuPerSecond,
    streamCpuUsPerEventPerSubscriber: (endingCpu * 1000) / (tokens.length * SUBSCRIBERS),
    eventsDelivered: events,
    eventsExpected: tokens.length * SUBSCRIBERS,
    pollingIdleCpuMsPerSecond: pollingCpuPerSecond,
  };
}

// 4. What 100 stream subscribers cost the API (issue 33: under 5% of `/auth/me`'s
// throughput): a bearer `/auth/me` under load (autocannon, 50 connections) with and without
// 100 subscribers, in alternating windows, while two sessions a second end in both (so the
// subscribers have events to deliver); the median of the windows' ratios.
{
  const SUBSCRIBERS = 100;
  const SECONDS_EACH = Math.max(1, Math.round(WINDOW_MS / 2500));
  const PAIRS = Math.min(ROUNDS, 5);
  const ENDINGS_PER_SECOND = 2;
  const token = await signIn();
  const ending = [];
  for (let i = 0; i < PAIRS * 2 * SECONDS_EACH * ENDINGS_PER_SECOND + 4; i++) ending.push(await signIn());
  const window = async () => {
    const trickle = setInterval(() => {
      const next = ending.pop();
      if (next) void logout(next);
    }, 1000 / ENDINGS_PER_SECOND);
    const result = await autocannon({
      url: `${base}/auth/me`,
      connections: 50,
      duration: SECONDS_EACH,
      headers: { authorization: `Bearer ${token}` },
    });
    clearInterval(trickle);
    if (result.non2xx > 0 || result.errors > 0)
      throw new Error(`/auth/me: ${result.non2xx} non-2xx, ${result.errors} errors`);
    return result.requests.average;
  };
  const ratios = [];
  const without = [];
  const withStreams = [];
  let delivered = 0;
  for (let pair = 0; pair < PAIRS; pair++) {
    without.push(await window());
    const controllers = await Promise.all(
      Array.from({ length: SUBSCRIBERS }, () =>
        subscribe((count) => {
          delivered += count;
        }),
      ),
    );
    await sleep(500);
    withStreams.push(await window());
    for (const controller of controllers) controller.abort();
    await sleep(500);
    ratios.push(withStreams.at(-1) / without.at(-1));
  }
  results.subscribersCost = {
    subscribers: SUBSCRIBERS,
    windows: PAIRS,
    secondsEach: SECONDS_EACH,
    rpsWithout: median(without),
    rpsWith: median(withStreams),
    ratio: median(ratios),
    eventsDelivered: delivered,
  };
}

await server.stop();
for (const suffix of ["", "-wal", "-shm"]) rmSync(`${file}${suffix}`, { force: true });
const r = results;
console.log(`
| measure | value |
| --- | --- |
| per request: JWKS alone (jose) | ${r.perRequest.jwksOnlyUs.toFixed(1)} µs |
| per request: latchkey/verify (JWKS + revocation set) | ${r.perRequest.verifyUs.toFixed(1)} µs |
| per request: introspection (a round trip) | ${r.perRequest.introspectionUs.toFixed(0)} µs, of which ${r.perRequest.introspectionLatchkeyCpuUs.toFixed(0)} µs of latchkey's CPU |
| time to refuse after logout: latchkey/verify polling every 500 ms | p50 ${r.timeToRefuse.pollingP50Ms.toFixed(0)} ms, max ${r.timeToRefuse.pollingMaxMs.toFixed(0)} ms |
| time to refuse after logout: latchkey/verify on the event stream (its default) | p50 ${r.timeToRefuse.verifyStreamP50Ms.toFixed(1)} ms, max ${r.timeToRefuse.verifyStreamMaxMs.toFixed(1)} ms |
| time for the event to reach a bare stream subscriber | p50 ${r.timeToRefuse.streamP50Ms.toFixed(1)} ms, max ${r.timeToRefuse.streamMaxMs.toFixed(1)} ms |
| latchkey CPU, no subscriber (its follower polling the store) | ${r.load.baselineCpuMsPerSecond.toFixed(1)} ms/s |
| latchkey CPU, ${r.load.subscribers} idle stream subscribers | ${r.load.streamIdleCpuMsPerSecond.toFixed(1)} ms/s |
| latchkey CPU per event per stream subscriber | ${r.load.streamCpuUsPerEventPerSubscriber.toFixed(1)} µs (${r.load.eventsDelivered} of ${r.load.eventsExpected} events delivered) |
| latchkey CPU, ${r.load.subscribers} services polling every 500 ms | ${r.load.pollingIdleCpuMsPerSecond.toFixed(1)} ms/s |
| bearer \`/auth/me\` req/s, no subscriber / ${r.subscribersCost.subscribers} stream subscribers (median of ${r.subscribersCost.windows} windows of ${r.subscribersCost.secondsEach} s each) | ${r.subscribersCost.rpsWithout.toFixed(0)} / ${r.subscribersCost.rpsWith.toFixed(0)} |
| what ${r.subscribersCost.subscribers} stream subscribers cost \`/auth/me\`'s throughput (target: under 5%) | ${((1 - r.subscribersCost.ratio) * 100).toFixed(1)}% (${r.subscribersCost.eventsDelivered} events delivered meanwhile) |
`);
console.log(JSON.stringify(results));
process.exit(0);

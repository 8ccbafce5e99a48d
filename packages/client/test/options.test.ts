/**
 * `createClient`'s options (issue 29): a bad one throws a TypeError naming it, at once;
 * good ones decide the URLs, the channel's and the lock's name.
 */
import { afterEach, expect, it, vi } from "vitest";
import { type ClientOptions, createClient } from "../src/index.js";
import { channelHub, lockManager } from "./browser.js";
import { FakeLatchkey, PASSWORD } from "./fake-latchkey.js";

afterEach(() => {
  vi.unstubAllGlobals();
});

const bad: [keyof ClientOptions, unknown][] = [
  ["baseUrl", "auth.example.com"],
  ["baseUrl", "https://auth.example.com/api"],
  ["baseUrl", "ftp://auth.example.com"],
  ["baseUrl", "https://auth.example.com?x=1"],
  ["prefix", "api"],
  ["prefix", "/api/"],
  ["prefix", "/api?x"],
  ["mode", "localStorage"],
  ["apiOrigins", "https://api.example.com"],
  ["apiOrigins", ["https://api.example.com/v1"]],
  ["refreshMargin", -1],
  ["refreshMargin", Number.NaN],
  ["refreshMargin", "30"],
  ["name", ""],
];

it.each(bad)("%s = %j throws a TypeError naming the option", (option, value) => {
  const make = () => createClient({ baseUrl: "https://auth.example.com", [option]: value });
  expect(make).toThrow(TypeError);
  expect(make).toThrow(new RegExp(`^latchkey client: ${option} `));
});

it("accepts an origin with or without its trailing slash, and a prefix", async () => {
  for (const baseUrl of ["https://auth.example", "https://auth.example/"]) {
    const server = new FakeLatchkey({ prefix: "/api/v1" });
    const client = createClient({ baseUrl, prefix: "/api/v1", fetch: server.fetch, locks: null, channel: null });
    await client.signIn("alice", PASSWORD);
    expect(server.log[0]?.url).toBe("https://auth.example/api/v1/auth/login");
  }
});

it('the default name is "latchkey:" + baseUrl\'s origin + prefix, for the channel and the lock', async () => {
  const hub = channelHub();
  const locks = lockManager();
  const server = new FakeLatchkey({ prefix: "/api" });
  const options = { baseUrl: server.origin, prefix: "/api", fetch: server.fetch, locks, channel: hub.channel };
  const client = createClient({ ...options, mode: "memory" });
  await client.signIn("alice", PASSWORD);
  server.expireAccess();
  await client.fetch(`${server.origin}/api/api/echo`);
  expect(hub.posted.map((message) => message.name)).toEqual([
    "latchkey:https://auth.example/api",
    "latchkey:https://auth.example/api",
  ]);
  expect([...locks.granted.keys()]).toEqual(["latchkey:https://auth.example/api:refresh"]);
  client.close();
});

it("with no baseUrl, latchkey is on the page's origin", async () => {
  vi.stubGlobal("location", { origin: "https://auth.example", href: "https://auth.example/app" });
  const hub = channelHub();
  const server = new FakeLatchkey();
  const client = createClient({ fetch: server.fetch, locks: null, channel: hub.channel });
  await client.signIn("alice", PASSWORD);
  expect(server.log[0]?.url).toBe("https://auth.example/auth/login");
  expect(hub.posted[0]?.name).toBe("latchkey:https://auth.example");
});

it("uses navigator.locks when the browser has it and no lock manager is given", async () => {
  const locks = lockManager();
  vi.stubGlobal("navigator", { locks });
  const server = new FakeLatchkey();
  const client = createClient({ baseUrl: server.origin, fetch: server.fetch, channel: null, mode: "memory" });
  await client.session();
  expect(locks.granted.get("latchkey:https://auth.example:refresh")).toBe(1);
});

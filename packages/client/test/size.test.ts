/**
 * The size budget (issue 29): `@latchkey/client` bundled from its sources, minified and
 * gzipped, stays under 5 kB. Bundled with Vite (Rolldown) and minified with the Oxc
 * minifier Vite exports, both already the repository's tools (Vite 8 no longer installs
 * esbuild), gzipped with node:zlib.
 */

import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build, minify, type Rolldown } from "vite";
import { expect, it } from "vitest";

const BUDGET = 5 * 1024;
const PACKAGE = fileURLToPath(new URL("..", import.meta.url));

it("min+gzip of the bundled package is under 5 kB", async () => {
  const result = await build({
    configFile: false,
    logLevel: "silent",
    root: PACKAGE,
    build: {
      write: false,
      // Vite's library mode keeps the whitespace of an ES build: minify the bundle below.
      minify: false,
      target: "es2022",
      lib: { entry: "src/index.ts", formats: ["es"], fileName: "client" },
    },
  });
  const [output] = (Array.isArray(result) ? result : [result]) as Rolldown.RolldownOutput[];
  const chunks = output!.output.filter((file) => file.type === "chunk");
  expect(chunks).toHaveLength(1);
  const bundle = chunks[0]!.code;
  // Self-contained: nothing imported, so nothing else is downloaded.
  expect(bundle).not.toMatch(/^\s*import\b/m);
  const { code, errors } = await minify("client.js", bundle, { module: true });
  expect(errors).toEqual([]);
  const size = gzipSync(code, { level: 9 }).length;
  console.log(`@latchkey/client: ${code.length} bytes minified, ${size} bytes min+gzip (budget ${BUDGET})`);
  expect(size).toBeLessThan(BUDGET);
  // A broken minification would be small too: the bundle still exports the API.
  expect(code).toMatch(/export\s*\{[^}]*\bas createClient\b/);
}, 60_000);

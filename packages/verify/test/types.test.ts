/**
 * `@latchkey/verify`'s type declarations as a consumer compiles them: emitted from the
 * sources as `tsc -b` emits them, into a fresh project's `node_modules` beside only what
 * the package depends on. Issue 25, item 2: `req.token` of `verifyExpress` is declared on
 * Express's `Request` for an Express app, and a service without Express still compiles with
 * `skipLibCheck: false`. Every TSDoc example of both entries (`@latchkey/verify`,
 * `@latchkey/verify/rules`) compiles against the declarations.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const PACKAGE = join(ROOT, "packages", "verify");
const ENTRIES = { "@latchkey/verify": "index", "@latchkey/verify/rules": "rules" } as const;

const STRICT: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2023,
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  skipLibCheck: false,
  noEmit: true,
  types: ["node"],
};

const projects: string[] = [];

/** The package's declarations, emitted from its sources with its own tsconfig (as `tsc -b` does) into `dist`. */
function emitDeclarations(dist: string): void {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(PACKAGE, "tsconfig.json"),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
      },
    },
  );
  if (!config) throw new Error("no tsconfig for packages/verify");
  const emitted = ts
    .createProgram(config.fileNames, {
      ...config.options,
      outDir: dist,
      emitDeclarationOnly: true,
      composite: false,
      incremental: false,
      tsBuildInfoFile: undefined,
      sourceMap: false,
      declarationMap: false,
    })
    .emit();
  expect(emitted.diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"))).toEqual([]);
}

/** A project whose node_modules holds the package (`dist` copied) and `packages` linked from this checkout. */
function project(dist: string, packages: string[]): string {
  const home = mkdtempSync(join(tmpdir(), "latchkey-verify-types-"));
  projects.push(home);
  const own = join(home, "node_modules", "@latchkey", "verify");
  mkdirSync(own, { recursive: true });
  writeFileSync(join(own, "package.json"), readFileSync(join(PACKAGE, "package.json")));
  cpSync(dist, join(own, "dist"), { recursive: true });
  for (const name of ["jose", "eventsource-parser", "@types/node", ...packages]) {
    const target = join(home, "node_modules", name);
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(join(ROOT, "node_modules", name), target, "dir");
  }
  writeFileSync(join(home, "package.json"), JSON.stringify({ name: "service", private: true, type: "module" }));
  return home;
}

/** The diagnostics of compiling `files` (name -> source) in `home`, each with its file's name. */
function compile(home: string, files: Record<string, string>): string[] {
  for (const [name, source] of Object.entries(files)) writeFileSync(join(home, name), source);
  const program = ts.createProgram(
    Object.keys(files).map((name) => join(home, name)),
    STRICT,
  );
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${d.file.fileName.slice(home.length + 1)}: ` : "";
    return `${where}${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
  });
}

let bare: string;
let withFrameworks: string;

/** An Express app of the kind the README shows, using `req.token`. */
const EXPRESS_APP = `
import express from "express";
import { createVerifier, type VerifiedToken, verifyExpress } from "@latchkey/verify";

const verifier = createVerifier({ issuer: "https://auth.example", credentials: { clientId: "svc", clientSecret: "s" } });
const app = express();
app.use("/reports", verifyExpress(verifier));
app.get("/reports", verifyExpress(verifier), (req, res) => {
  const who: VerifiedToken | undefined = req.token;
  res.json({ kind: req.token?.kind, user: who?.kind === "user" ? who.userId : null });
});
export { app };
`;

/**
 * The Express app and every example, compiled once (checking Express's, Hono's and
 * Fastify's declarations costs seconds): the diagnostics, and how many examples there were.
 */
let withFrameworksOutcome: { diagnostics: string[]; examples: number } | undefined;
function compileWithFrameworks(): { diagnostics: string[]; examples: number } {
  if (!withFrameworksOutcome) {
    const examples = exampleModules();
    withFrameworksOutcome = {
      diagnostics: compile(withFrameworks, { "app.ts": EXPRESS_APP, ...examples }),
      examples: Object.keys(examples).length,
    };
  }
  return withFrameworksOutcome;
}

beforeAll(() => {
  const dist = mkdtempSync(join(tmpdir(), "latchkey-verify-dist-"));
  projects.push(dist);
  emitDeclarations(dist);
  bare = project(dist, []);
  withFrameworks = project(dist, ["express", "@types/express", "hono", "fastify"]);
}, 60_000);
afterAll(() => {
  for (const home of projects) rmSync(home, { recursive: true, force: true });
});

describe("@latchkey/verify's declarations (issue 25, item 2)", () => {
  it("a service without Express (nor its types) compiles with skipLibCheck false", () => {
    const service = `
import { createVerifier, FeedError, protect, verifyExpress, VerifyError, type VerifyFailure } from "@latchkey/verify";
import { checkSpelling, RememberedTokens, type TokenFailure, verifyToken } from "@latchkey/verify/rules";

const verifier = createVerifier({ issuer: "https://auth.example", credentials: { clientId: "svc", clientSecret: "s" } });
await verifier.ready({ timeoutMs: 5000 }).catch((error: unknown) => {
  if (error instanceof FeedError) console.error(error.reason, error.status);
});
const middleware = verifyExpress(verifier);
const reason: VerifyFailure = "audience";
const failure: TokenFailure | undefined = checkSpelling("a.b.c");
const remembered = new RememberedTokens<{ expiresAt: number }>({ clockTolerance: 5 });
export const handler = (request: Request) => protect(verifier, request, (who) => Response.json({ kind: who.kind }));
export { middleware, reason, failure, remembered, verifyToken, VerifyError };
`;
    expect(compile(bare, { "service.ts": service })).toEqual([]);
  }, 120_000);

  it("in an Express app, req.token is declared: the VerifiedToken verifyExpress set", () => {
    expect(compileWithFrameworks().diagnostics.filter((line) => line.startsWith("app.ts"))).toEqual([]);
  }, 120_000);

  it("every TSDoc example of both entries compiles against the declarations", () => {
    const { diagnostics, examples } = compileWithFrameworks();
    expect(examples).toBeGreaterThan(20);
    expect(diagnostics.filter((line) => !line.startsWith("app.ts"))).toEqual([]);
  }, 120_000);
});

/** Each TSDoc example of both entries as a module: the entries' names imported, the givens declared, its body in an async function. */
function exampleModules(): Record<string, string> {
  const names: Record<string, string[]> = {};
  const examples: { name: string; code: string }[] = [];
  const files = Object.values(ENTRIES).map((file) =>
    join(withFrameworks, "node_modules", "@latchkey", "verify", "dist", `${file}.d.ts`),
  );
  const program = ts.createProgram(files, STRICT);
  const checker = program.getTypeChecker();
  for (const [i, [entry]] of Object.entries(ENTRIES).entries()) {
    const source = program.getSourceFile(files[i] as string);
    const module = source && checker.getSymbolAtLocation(source);
    if (!source || !module) throw new Error(`no module for ${entry}`);
    names[entry] = [];
    for (const exported of checker.getExportsOfModule(module)) {
      names[entry].push(exported.name);
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const found = symbol.getJsDocTags(checker).filter((tag) => tag.name === "example");
      expect(found.length, `${entry}: ${exported.name} has no @example`).toBeGreaterThan(0);
      for (const tag of found) examples.push({ name: exported.name, code: ts.displayPartsToString(tag.text) });
    }
    const opening = /^\/\*\*([\s\S]*?)\*\//.exec(source.text)?.[1] ?? "";
    const at = opening.indexOf("@example");
    if (at >= 0) {
      const code = opening
        .slice(at + "@example".length)
        .split("\n")
        .map((line) => line.replace(/^\s*\* ?/, ""))
        .join("\n");
      examples.push({ name: `module ${entry}`, code });
    }
  }
  const imports = Object.entries(names)
    .map(([entry, list]) => `import { ${list.join(", ")} } from "${entry}";`)
    .join("\n");
  const written: Record<string, string> = {};
  for (const [i, { name, code }] of examples.entries()) {
    const lines = code.split("\n");
    const own = lines.filter(
      (line) => /^import /.test(line) && !/from "(latchkey\/verify|@latchkey\/verify(\/rules)?)";/.test(line),
    );
    const body = lines.filter((line) => !/^import /.test(line));
    written[`example-${i}.ts`] =
      `// @example of ${name}\n${imports}\n${own.join("\n")}\n` +
      'import type { FastifyInstance } from "fastify";\n' +
      "declare const token: string;\ndeclare const verifier: Verifier;\ndeclare const app: FastifyInstance;\n" +
      `export async function example(): Promise<void> {\n${body.join("\n")}\n}\n`;
  }
  return written;
}

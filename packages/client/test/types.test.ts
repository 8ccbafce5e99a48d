/**
 * `@latchkey/client`'s type declarations as a browser app compiles them (issue 29): emitted
 * from the sources as `tsc -b` emits them, into a fresh project's `node_modules`, compiled
 * with the DOM's types and without Node's (`types: []`), `skipLibCheck: false` and
 * `exactOptionalPropertyTypes`. Every TSDoc example of the entry compiles against them.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterAll, beforeAll, expect, it } from "vitest";

const PACKAGE = fileURLToPath(new URL("..", import.meta.url));

const BROWSER: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  lib: ["lib.es2023.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
  types: [],
  typeRoots: [],
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  skipLibCheck: false,
  noEmit: true,
};

let home: string;

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), "latchkey-client-types-"));
  const own = join(home, "node_modules", "@latchkey", "client");
  mkdirSync(own, { recursive: true });
  writeFileSync(join(own, "package.json"), readFileSync(join(PACKAGE, "package.json")));
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
  if (!config) throw new Error("no tsconfig for packages/client");
  const dist = join(home, "emitted");
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
  cpSync(dist, join(own, "dist"), { recursive: true });
  writeFileSync(join(home, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
}, 60_000);
afterAll(() => {
  rmSync(home, { recursive: true, force: true });
});

function compile(files: Record<string, string>): string[] {
  for (const [name, source] of Object.entries(files)) writeFileSync(join(home, name), source);
  const program = ts.createProgram(
    Object.keys(files).map((name) => join(home, name)),
    BROWSER,
  );
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${d.file.fileName.slice(home.length + 1)}: ` : "";
    return `${where}${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
  });
}

it("a browser app compiles against the declarations, with no Node types", () => {
  const app = `
import { type Change, type ClientOptions, createClient, LatchkeyError, type SessionInfo } from "@latchkey/client";

const options: ClientOptions = { baseUrl: "https://auth.example.com", mode: "memory", locks: navigator.locks,
  channel: (name) => new BroadcastChannel(name), fetch: window.fetch.bind(window), setTimeout, clearTimeout };
const client = createClient(options);
const stop = client.onChange((change: Change) => console.log(change.reason, change.session?.user.username));
const info: SessionInfo = await client.signIn("alice", "pw", { remember: true });
const answer: Response = await client.fetch(new Request("/api/todos", { method: "POST", body: "{}" }));
try { await client.signOutEverywhere(); } catch (error) { if (error instanceof LatchkeyError) console.log(error.retryAfter); }
stop();
client.close();
export { info, answer };
`;
  expect(compile({ "app.ts": app })).toEqual([]);
}, 60_000);

it("every export has an @example, and every example compiles", () => {
  const entry = join(home, "node_modules", "@latchkey", "client", "dist", "index.d.ts");
  const program = ts.createProgram([entry], BROWSER);
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  const module = source && checker.getSymbolAtLocation(source);
  if (!source || !module) throw new Error("no module for @latchkey/client");
  const names: string[] = [];
  const examples: { name: string; code: string }[] = [];
  for (const exported of checker.getExportsOfModule(module)) {
    names.push(exported.name);
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const found = symbol.getJsDocTags(checker).filter((tag) => tag.name === "example");
    expect(found.length, `${exported.name} has no @example`).toBeGreaterThan(0);
    for (const tag of found) examples.push({ name: exported.name, code: ts.displayPartsToString(tag.text) });
  }
  const opening = /^\/\*\*([\s\S]*?)\*\//.exec(readFileSync(join(PACKAGE, "src", "index.ts"), "utf8"))?.[1] ?? "";
  const code = opening.slice(opening.indexOf("@example") + "@example".length);
  examples.push({ name: "the module", code: code.replace(/^\s*\* ?/gm, "") });
  const givens = [
    "declare const client: LatchkeyClient;",
    "declare const password: string;",
    "declare function render(...args: unknown[]): void;",
    "declare function show(message: string): void;",
    "declare function showError(message: string): void;",
    "declare function showNotice(message: string): void;",
    "declare function showAdminMenu(): void;",
  ].join("\n");
  const files: Record<string, string> = {};
  for (const [i, { name, code }] of examples.entries()) {
    const body = code.split("\n").filter((line) => !/^import .* from "@latchkey\/client";$/.test(line));
    files[`example-${i}.ts`] =
      `// @example of ${name}\nimport { ${names.join(", ")} } from "@latchkey/client";\n${givens}\n` +
      `export async function example(): Promise<void> {\n${body.join("\n")}\n}\n`;
  }
  expect(examples.length).toBeGreaterThanOrEqual(names.length);
  // An example that uses only some of the names is fine: unused imports are not errors here.
  expect(compile(files)).toEqual([]);
}, 60_000);

it("every ts block of docs/client.md and this package's README compiles as a browser module", () => {
  const files: Record<string, string> = {};
  for (const doc of [join(PACKAGE, "..", "..", "docs", "client.md"), join(PACKAGE, "README.md")]) {
    const text = readFileSync(doc, "utf8");
    const blocks = [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] as string);
    expect(blocks.length, doc).toBeGreaterThan(0);
    for (const [i, block] of blocks.entries()) {
      const name = `${doc.endsWith("README.md") ? "readme" : "docs"}-${i}.ts`;
      files[name] = `// ${doc}\n${block}\nexport {};\n`;
    }
  }
  expect(compile(files)).toEqual([]);
}, 60_000);

/**
 * Type-checks a docs example as a user's project would hold it, under compiler options of
 * the test's choosing (`exactOptionalPropertyTypes`, say): the ```ts block of `doc` that
 * mentions `marker`, beside the `auth.ts` block (the one that exports `auth`: the doc's, or
 * the README's), with
 * `latchkey` and its entry points resolved to the sources. Only the examples' own errors
 * count: a user's `skipLibCheck` covers the library.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The examples' errors, as `file(line): message`; `[]` when they compile. */
export function compileDocExample(doc: string, marker: string, options: ts.CompilerOptions = {}): string[] {
  const blocks = tsBlocks(doc);
  // The docs share the README's auth.ts, as test/package compiles them.
  const auth = [...blocks, ...tsBlocks("README.md")].find((code) => code.includes("export const auth"));
  const example = blocks.find((code) => code.includes(marker));
  if (!auth || !example) throw new Error(`${doc} has no auth.ts block or no block naming ${marker}`);
  // Beside the tests, so the checkout's node_modules (express's types) resolve as a user's would.
  const dir = join(ROOT, "test", "helpers", "doc-example");
  const files = new Map([
    [join(dir, "auth.ts"), auth],
    [join(dir, "example.ts"), example],
  ]);
  const compilerOptions: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2023,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ["node"],
    baseUrl: ROOT,
    paths: { latchkey: ["packages/latchkey/src/index.ts"], "latchkey/*": ["packages/latchkey/src/*.ts"] },
    ...options,
  };
  const host = ts.createCompilerHost(compilerOptions);
  const { getSourceFile, fileExists, readFile, directoryExists } = host;
  host.directoryExists = (name) => name === dir || (directoryExists?.call(host, name) ?? true);
  host.fileExists = (name) => files.has(name) || fileExists.call(host, name);
  host.readFile = (name) => files.get(name) ?? readFile.call(host, name);
  host.getSourceFile = (name, language, ...rest) => {
    const own = files.get(name);
    return own === undefined
      ? getSourceFile.call(host, name, language, ...rest)
      : ts.createSourceFile(name, own, language, true);
  };
  const program = ts.createProgram([...files.keys()], compilerOptions, host);
  // The examples' own diagnostics only: the checker then reads the library as far as they use it.
  const own = [...files.keys()].flatMap((name) => {
    const source = program.getSourceFile(name);
    return source ? [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)] : [];
  });
  return own
    .filter((diagnostic) => diagnostic.file && files.has(diagnostic.file.fileName))
    .map((diagnostic) => {
      const { line } = (diagnostic.file as ts.SourceFile).getLineAndCharacterOfPosition(diagnostic.start ?? 0);
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
      return `${(diagnostic.file as ts.SourceFile).fileName.slice(dir.length + 1)}(${line + 1}): ${message}`;
    });
}

function tsBlocks(doc: string): string[] {
  const text = ts.sys.readFile(join(ROOT, doc)) ?? "";
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] as string);
}

/**
 * The packages as a user gets them: `npm pack` of every workspace, then `npm install
 * --offline` of the tarballs and the host's own packages into a project under the
 * system's temp folder, where nothing an app resolves can come from this checkout.
 *
 * npm resolves a dependency it has not locked from the registry's full metadata, which
 * `npm ci` never caches (it caches the tarballs a lockfile names). So each project gets
 * the lockfile npm would write for it, cut from this repository's own: the same versions
 * and tree, minus everything the project does not need, with the packed packages'
 * manifests deciding what they bring. The repository's `overrides` are not carried over
 * unless a project asks: where a packed manifest or a host package wants a version the
 * lockfile does not hold, npm resolves it afresh, as it would for a user, and says so
 * (`EBADENGINE`, or `ENOTCACHED` offline).
 *
 * better-sqlite3 builds from source when no prebuilt binary can be downloaded (a minute
 * on two cores); its installer takes a local prebuild instead, the binary this checkout's
 * install built for the same Node ABI, as a download would have given it (prebuild-install's
 * `local-prebuilds`, set in the project's `.prebuild-installrc`).
 *
 * `compile` runs a project's own TypeScript over files written into it.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const REPOSITORY = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  workspaces: string[];
  overrides?: unknown;
};

interface Manifest {
  name: string;
  version: string;
  license?: string;
  bin?: Record<string, string>;
  engines?: Record<string, string>;
  scripts?: Record<string, string>;
  exports?: Record<string, unknown>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** What `npm pack --json` says of a tarball, and the manifest packed in it. */
export interface Packed {
  name: string;
  filename: string;
  integrity: string;
  size: number;
  unpackedSize: number;
  files: string[];
  manifest: Manifest;
}

type Entry = Partial<Manifest> & {
  resolved?: string;
  integrity?: string;
  link?: boolean;
  optional?: boolean;
  os?: string[];
  cpu?: string[];
  [field: string]: unknown;
};

/** Packs every workspace into `into` (after `npm run build`); the tarballs by package name. */
export function packAll(into: string): Map<string, Packed> {
  mkdirSync(into, { recursive: true });
  const workspaces = REPOSITORY.workspaces;
  const out = execFileSync(
    "npm",
    ["pack", "--ignore-scripts", "--json", "--pack-destination", into, ...workspaces.flatMap((w) => ["-w", w])],
    { cwd: ROOT, encoding: "utf8" },
  );
  const infos = JSON.parse(out) as (Omit<Packed, "files" | "manifest"> & { files: { path: string }[] })[];
  const packed = new Map<string, Packed>();
  for (const info of infos) {
    const manifest = JSON.parse(
      execFileSync("tar", ["-xzOf", join(into, info.filename), "package/package.json"], { encoding: "utf8" }),
    ) as Manifest;
    packed.set(info.name, { ...info, files: info.files.map((f) => f.path), manifest });
  }
  return packed;
}

/** What a project installs. */
export interface ProjectSpec {
  /** The packed packages it depends on (their tarballs). */
  packed: string[];
  /** The host's own packages, at the versions this repository's lockfile holds. */
  host: string[];
  /**
   * Whether the project applies the repository's `overrides`: a Fastify host's
   * `@fastify/cookie` and the server's `@fastify/static` ask for `cookie@2` and
   * `content-disposition@3`, which want Node 22. Never for the library's or the
   * verifier's installs: a user's install applies no overrides of ours.
   */
  overrides?: boolean;
}

/** An install: whether npm succeeded, what it said, and how long it took. */
export interface Installed {
  dir: string;
  ok: boolean;
  output: string;
  ms: number;
}

/**
 * Writes `dir/package.json` and its lockfile, then runs `npm install --offline` in it.
 * Run again with more packages, it adds them, as `npm install <more>` would.
 */
export function installProject(
  dir: string,
  spec: ProjectSpec,
  packed: Map<string, Packed>,
  tarballs: string,
): Installed {
  mkdirSync(dir, { recursive: true });
  const lock = projectLock(dir, spec, packed, tarballs);
  const { name, dependencies } = lock.packages[""] as Entry;
  const overrides = spec.overrides ? { overrides: REPOSITORY.overrides } : {};
  const manifest = { name, private: true, type: "module", dependencies, ...overrides };
  writeFileSync(join(dir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(dir, "package-lock.json"), `${JSON.stringify(lock, null, 2)}\n`);
  // prebuild-install reads its settings from this file in the project (or above it).
  writeFileSync(join(dir, ".prebuild-installrc"), `local-prebuilds=${localPrebuilds(tarballs)}\n`);
  const start = Date.now();
  const run = spawnSync("npm", ["install", "--offline", "--no-audit", "--no-fund"], {
    cwd: dir,
    encoding: "utf8",
    env: userEnvironment(),
  });
  return { dir, ok: run.status === 0, output: `${run.stdout}${run.stderr}`, ms: Date.now() - start };
}

/**
 * The environment a user's shell would give npm: this process's, without what npm and
 * vitest set for the test run itself (a package's lifecycle, a module path).
 */
export function userEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || /^(npm_package_|npm_lifecycle_|VITEST|NODE_OPTIONS$|NODE_PATH$|INIT_CWD$)/.test(key)) {
      continue;
    }
    env[key] = value;
  }
  return env;
}

/** A folder holding better-sqlite3's prebuild for this Node, made from this checkout's build. */
function localPrebuilds(tarballs: string): string {
  const folder = join(tarballs, "prebuilds");
  const home = join(ROOT, "node_modules", "better-sqlite3");
  const { version } = JSON.parse(readFileSync(join(home, "package.json"), "utf8")) as { version: string };
  const file = join(
    folder,
    `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`,
  );
  if (!existsSync(file) && existsSync(join(home, "build/Release/better_sqlite3.node"))) {
    mkdirSync(folder, { recursive: true });
    execFileSync("tar", ["-czf", file, "-C", home, "build/Release/better_sqlite3.node"]);
  }
  return folder;
}

/** The repository's lockfile entries, and where each workspace's package is. */
function repositoryLock(): { packages: Record<string, Entry>; workspaceOf: Map<string, string> } {
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
    packages: Record<string, Entry>;
  };
  const workspaceOf = new Map<string, string>();
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (entry.link && typeof entry.resolved === "string") {
      workspaceOf.set(path.slice("node_modules/".length), entry.resolved);
    }
  }
  return { packages: lock.packages, workspaceOf };
}

/** Where node finds `name` from the package at `from`, in a lockfile's tree (`""`: the root). */
export function resolveIn(packages: Record<string, unknown>, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = `${base ? `${base}/` : ""}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!base) return undefined;
    const at = base.lastIndexOf("/node_modules/");
    base = at < 0 ? "" : base.slice(0, at);
  }
}

/** The lockfile npm would write for the project: this repository's tree, cut to what it needs. */
function projectLock(
  dir: string,
  spec: ProjectSpec,
  packed: Map<string, Packed>,
  tarballs: string,
): { name: string; lockfileVersion: 3; requires: true; packages: Record<string, Entry> } {
  const repository = repositoryLock();
  const tarballOf = (pkg: Packed) => `file:${relative(dir, join(tarballs, pkg.filename))}`;
  const dependencies: Record<string, string> = {};
  for (const name of spec.packed) dependencies[name] = tarballOf(packedOf(packed, name));
  for (const host of spec.host) {
    const version = repository.packages[`node_modules/${host}`]?.version;
    if (!version) throw new Error(`${host} is not in package-lock.json: add it to the repository's devDependencies`);
    dependencies[host] = `^${version}`;
  }
  const name = `host-${dir.split("/").at(-1)}`;
  const tree = cutTree(repository, dependencies, (workspace) => {
    const pkg = packedOf(packed, workspace);
    const {
      version,
      license,
      dependencies,
      optionalDependencies,
      peerDependencies,
      peerDependenciesMeta,
      bin,
      engines,
    } = pkg.manifest;
    return {
      version,
      resolved: tarballOf(pkg),
      integrity: pkg.integrity,
      license,
      dependencies,
      optionalDependencies,
      peerDependencies,
      peerDependenciesMeta,
      bin,
      engines,
    };
  });
  return { name, lockfileVersion: 3, requires: true, packages: { "": { name, dependencies }, ...tree } };
}

/**
 * The entries of the repository's tree that `dependencies` reach, at the places node
 * resolves them from (a workspace's folder becomes its package's folder in node_modules,
 * its entry the packed manifest `workspaceEntry` gives).
 */
function cutTree(
  repository: { packages: Record<string, Entry>; workspaceOf: Map<string, string> },
  dependencies: Record<string, string>,
  workspaceEntry: (name: string) => Entry,
): Record<string, Entry> {
  const { packages, workspaceOf } = repository;
  const registry = execFileSync("npm", ["config", "get", "registry"], { encoding: "utf8" }).trim().replace(/\/$/, "");
  const workspaces = [...workspaceOf];
  const placeOf = (path: string): string => {
    const found = workspaces.find(([, folder]) => path === folder || path.startsWith(`${folder}/`));
    return found ? `node_modules/${found[0]}${path.slice(found[1].length)}` : path;
  };
  const out: Record<string, Entry> = {};
  const visit = (path: string, wanted: string[]) => {
    for (const dep of wanted) {
      let found = resolveIn(packages, path, dep);
      if (found && packages[found]?.link) found = packages[found]?.resolved as string;
      if (!found) throw new Error(`package-lock.json has no ${dep} for ${path || "the project"}: run npm install`);
      const place = placeOf(found);
      if (out[place]) continue;
      const workspace = workspaces.find(([, folder]) => folder === found)?.[0];
      const entry = workspace ? workspaceEntry(workspace) : { ...packages[found] };
      for (const flag of ["dev", "devOptional", "peer"]) delete entry[flag];
      if (!entry.resolved && entry.version) {
        entry.resolved = `${registry}/${dep}/-/${dep.split("/").at(-1)}-${entry.version}.tgz`;
      }
      out[place] = entry;
      if (entry.optional && !platformMatches(entry)) continue;
      const peers = Object.keys(entry.peerDependencies ?? {}).filter(
        (peer) => !entry.peerDependenciesMeta?.[peer]?.optional,
      );
      visit(found, [...Object.keys({ ...entry.dependencies, ...entry.optionalDependencies }), ...peers]);
    }
  };
  visit("", Object.keys(dependencies));
  return out;
}

function platformMatches(entry: Entry): boolean {
  return (!entry.os || entry.os.includes(process.platform)) && (!entry.cpu || entry.cpu.includes(process.arch));
}

function packedOf(packed: Map<string, Packed>, name: string): Packed {
  const pkg = packed.get(name);
  if (!pkg) throw new Error(`${name} is not a workspace of this repository`);
  return pkg;
}

/** An installed project's packages (their lockfile paths), from npm's own record of it. */
export function installedPackages(dir: string): Record<string, Entry> {
  const hidden = JSON.parse(readFileSync(join(dir, "node_modules", ".package-lock.json"), "utf8")) as {
    packages: Record<string, Entry>;
  };
  return hidden.packages;
}

/** The installed packages `roots` bring (themselves included), as node would resolve them. */
export function closureOf(dir: string, roots: string[]): Set<string> {
  const packages = installedPackages(dir);
  const seen = new Set<string>();
  const visit = (path: string, names: string[]) => {
    for (const dep of names) {
      const found = resolveIn(packages, path, dep);
      if (!found || seen.has(found)) continue;
      seen.add(found);
      const entry = packages[found] as Entry;
      visit(found, Object.keys({ ...entry.dependencies, ...entry.optionalDependencies }));
    }
  };
  visit("", roots);
  return seen;
}

/** Bytes on disk of the packages at `paths` (each without its own nested node_modules). */
export function bytesOf(dir: string, paths: Iterable<string>): number {
  const walk = (folder: string): number => {
    let total = 0;
    for (const item of readdirSync(folder, { withFileTypes: true })) {
      if (item.name === "node_modules") continue;
      const full = join(folder, item.name);
      total += item.isDirectory() ? walk(full) : item.isFile() ? statSync(full).size : 0;
    }
    return total;
  };
  let total = 0;
  for (const path of paths) if (existsSync(join(dir, path))) total += walk(join(dir, path));
  return total;
}

/** The package name of a lockfile path: `node_modules/a/node_modules/@b/c` is `@b/c`. */
export function nameOf(path: string): string {
  return path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);
}

/** Runs the project's own `tsc` on `files` (strict, NodeNext, exactOptionalPropertyTypes): its output. */
export function compile(project: string, files: string[], config = "tsconfig.check.json"): string {
  writeFileSync(
    join(project, config),
    JSON.stringify({
      compilerOptions: {
        module: "NodeNext",
        moduleResolution: "NodeNext",
        target: "ES2023",
        strict: true,
        exactOptionalPropertyTypes: true,
        noEmit: true,
        skipLibCheck: false,
        types: ["node"],
      },
      files,
    }),
  );
  const run = spawnSync(process.execPath, [join(project, "node_modules/typescript/bin/tsc"), "-p", config], {
    cwd: project,
    encoding: "utf8",
  });
  return `${run.stdout}${run.stderr}`;
}

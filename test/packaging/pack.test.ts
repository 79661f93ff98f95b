// What a user installs: every published package in packages/* (new ones are picked up as
// they are added), packed by npm itself (`npm pack --dry-run --json`), holds its README,
// the LICENSE, its compiled dist with the sources its maps point to, and nothing of the
// tests or the build's bookkeeping; it imports only what it declares; and what it declares
// of our own packages is a peer range that the workspace's versions satisfy.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, posix, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runToExit } from "../support/children.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const LICENSE = readFileSync(join(ROOT, "LICENSE"), "utf8");

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  engines?: { node?: string };
  main?: string;
  types?: string;
  bin?: Record<string, string>;
  // "hopwire-unbundled": the tsc file; "import": its bundle (dist/bundle/, scripts/bundle.mjs).
  exports?: Record<string, { types?: string; "hopwire-unbundled"?: string; import?: string }>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

const manifestOf = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest;
const packageDirs = readdirSync(join(ROOT, "packages"))
  .map((name) => join(ROOT, "packages", name))
  .filter((dir) => existsSync(join(dir, "package.json")));
const published = packageDirs.filter((dir) => manifestOf(dir).private !== true);
/** Every workspace package's version, by name (private ones included: a published package must not need them). */
const workspace = new Map(packageDirs.map((dir) => [manifestOf(dir).name, manifestOf(dir)]));

/** Does `version` satisfy `range`? The forms our manifests use: exact, ^, ~, >=; anything else fails the test. */
export function satisfies(version: string, range: string): boolean {
  const parse = (v: string): number[] => v.split(".").map(Number);
  const m = /^(\^|~|>=)?(\d+\.\d+\.\d+)$/.exec(range.trim());
  if (!m) throw new Error(`unsupported range "${range}" (use x.y.z, ^x.y.z, ~x.y.z or >=x.y.z)`);
  const [op, base] = [m[1] ?? "", parse(m[2]!)];
  const v = parse(version);
  const cmp = v[0]! - base[0]! || v[1]! - base[1]! || v[2]! - base[2]!;
  if (op === "") return cmp === 0;
  if (cmp < 0) return false;
  if (op === ">=") return true;
  if (op === "~") return v[0] === base[0] && v[1] === base[1];
  // ^: the left-most non-zero part stays the same.
  if (base[0] !== 0) return v[0] === base[0];
  if (base[1] !== 0) return v[0] === 0 && v[1] === base[1];
  return v[0] === 0 && v[1] === 0 && v[2] === base[2];
}

/** The files `npm pack` would put in each tarball, as npm decides them (files, .npmignore, always-included): one npm run for all. */
async function packedFiles(dirs: readonly string[]): Promise<Map<string, string[]>> {
  const args = ["pack", "--dry-run", "--json", "--ignore-scripts", ...dirs.flatMap((d) => ["-w", d])];
  const { code, stdout, stderr } = await runToExit(args, { command: "npm", cwd: ROOT, timeoutMs: 90_000 });
  if (code !== 0) throw new Error(`npm pack exited with ${code}: ${stderr.slice(-2000)}`);
  const reports = JSON.parse(stdout) as { name: string; files: { path: string }[] }[];
  return new Map(reports.map((r) => [r.name, r.files.map((f) => f.path)]));
}

/** Bare specifiers a compiled module imports (static, dynamic and re-exports), as package names. */
function importedPackages(source: string): string[] {
  // Statements start a line in compiled output; `from "x"` inside a string (an error message) is not one.
  const statement = /^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']/gm;
  const specs = [...source.matchAll(statement)].map((m) => (m[1] ?? m[2] ?? m[3])!);
  return specs
    .filter((s) => !s.startsWith(".") && !s.startsWith("/"))
    .map((s) => (s.startsWith("@") ? s.split("/").slice(0, 2).join("/") : s.split("/")[0]!));
}

const isBuiltin = (name: string): boolean => name.startsWith("node:") || builtinModules.includes(name);

// npm takes seconds to start under load: one dry run for every package, up front.
const packing = packedFiles(published.map((dir) => relative(ROOT, dir)));
packing.catch(() => {}); // reported by the tests that await it
async function filesOf(name: string): Promise<string[]> {
  const files = (await packing).get(name);
  if (files === undefined) throw new Error(`npm pack reported nothing for ${name}`);
  return files;
}

describe.each(published.map((dir) => [manifestOf(dir).name, dir] as const))("%s, as npm packs it", (_name, dir) => {
  const manifest = manifestOf(dir);

  it("holds README.md, the repository's LICENSE, package.json and every entry point its manifest names", async () => {
    const files = await filesOf(manifest.name);
    expect(files).toEqual(expect.arrayContaining(["README.md", "LICENSE", "package.json"]));
    expect(readFileSync(join(dir, "LICENSE"), "utf8")).toBe(LICENSE);
    expect(manifest.license).toBe("Apache-2.0");
    const entries = [
      manifest.main,
      manifest.types,
      ...Object.values(manifest.bin ?? {}),
      ...Object.values(manifest.exports ?? {}).flatMap((e) => [e.types, e["hopwire-unbundled"], e.import]),
    ];
    for (const entry of entries.filter((e): e is string => e !== undefined)) {
      expect(files, entry).toContain(posix.normalize(entry));
    }
  });

  it("holds no tests, fixtures or build bookkeeping (tsbuildinfo)", async () => {
    const files = await filesOf(manifest.name);
    expect(files.filter((f) => /(^|\/)(test|tests|__tests__|fixtures)\//.test(f) || /\.(test|spec)\.[cm]?[jt]s$/.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith(".tsbuildinfo"))).toEqual([]);
    expect(files.some((f) => f.startsWith("dist/"))).toBe(true);
  });

  it("ships the sources its source maps point to", async () => {
    const files = new Set(await filesOf(manifest.name));
    const maps = [...files].filter((f) => f.endsWith(".map"));
    expect(maps.length).toBeGreaterThan(0);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(join(dir, map), "utf8")) as { sources: string[] };
      for (const source of sources) {
        const target = posix.normalize(posix.join(posix.dirname(map), source));
        if (!files.has(target)) missing.push(`${map} -> ${target}`);
      }
    }
    expect(missing).toEqual([]);
  });

  // npm warned no one on an older Node: the requirement was the workspace's alone.
  it("declares the Node versions it runs on, as the workspace does", () => {
    const root = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { engines?: { node?: string } };
    expect(root.engines?.node).toBeDefined();
    expect(manifest.engines?.node).toBe(root.engines!.node);
  });

  it("ships bundles whose source text is ASCII (V8 keeps it one byte per character in every isolate)", async () => {
    const bundles = (await filesOf(manifest.name)).filter((f) => f.startsWith("dist/bundle/") && f.endsWith(".js"));
    expect(bundles.length).toBeGreaterThan(0);
    const nonAscii = bundles.filter((f) => /[^\x00-\x7f]/.test(readFileSync(join(dir, f), "utf8")));
    expect(nonAscii).toEqual([]);
  });

  it("imports only Node built-ins, itself and the packages it declares", async () => {
    const files = await filesOf(manifest.name);
    const declared = new Set([manifest.name, ...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]);
    const undeclared = new Set<string>();
    for (const file of files.filter((f) => /\.[cm]?js$/.test(f))) {
      for (const name of importedPackages(readFileSync(join(dir, file), "utf8"))) {
        if (!isBuiltin(name) && !declared.has(name)) undeclared.add(`${name} (${file})`);
      }
    }
    expect([...undeclared]).toEqual([]);
  });

  it("declares our own packages as peers (one runtime per program), with ranges the workspace's versions satisfy", () => {
    for (const name of Object.keys(manifest.dependencies ?? {})) {
      expect(workspace.has(name), `${name} is a workspace package: declare it in peerDependencies`).toBe(false);
    }
    for (const [name, range] of Object.entries(manifest.peerDependencies ?? {})) {
      const target = workspace.get(name);
      if (target === undefined) continue; // someone else's package: npm resolves it from the registry
      expect(target.private, `${name} is private: a published package cannot need it`).not.toBe(true);
      expect(satisfies(target.version, range), `${name}@${target.version} satisfies "${range}"`).toBe(true);
    }
  });
});

describe("the range check itself", () => {
  it("follows npm's semantics for the forms it accepts", () => {
    expect(satisfies("0.1.0", "0.1.0")).toBe(true);
    expect(satisfies("0.1.1", "0.1.0")).toBe(false);
    expect(satisfies("0.1.5", "^0.1.0")).toBe(true);
    expect(satisfies("0.2.0", "^0.1.0")).toBe(false);
    expect(satisfies("0.0.4", "^0.0.3")).toBe(false);
    expect(satisfies("1.9.0", "^1.2.3")).toBe(true);
    expect(satisfies("2.0.0", "^1.2.3")).toBe(false);
    expect(satisfies("1.2.9", "~1.2.3")).toBe(true);
    expect(satisfies("1.3.0", "~1.2.3")).toBe(false);
    expect(satisfies("3.0.0", ">=1.2.3")).toBe(true);
    expect(() => satisfies("1.0.0", "1.x")).toThrow(/unsupported/);
  });
});

// The root of the repository is what a clone gets: the same licence text.
it("the repository's LICENSE is the Apache License 2.0 its package.json names", () => {
  expect(LICENSE).toContain("Apache License\n                           Version 2.0, January 2004");
  expect((JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Manifest).license).toBe("Apache-2.0");
});

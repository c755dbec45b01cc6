import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";

const PACKAGES = fileURLToPath(new URL("../..", import.meta.url));
const CORE_SRC = join(PACKAGES, "core", "src");

/** The relative `.js` imports (values and re-exports; `import type` is erased) of one source file. */
function relativeImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found: string[] = [];
  for (const match of text.matchAll(/^(?:import|export)(?!\s+type\b)[^;]*?from\s+"(\.[^"]+)\.js";/gms))
    found.push(resolve(dirname(file), `${match[1]}.ts`));
  return found;
}

/** Every source file of its own package that `entry` loads, itself included. */
function closure(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const next of relativeImports(file)) visit(next);
  };
  visit(entry);
  return seen;
}

/** Every core source file `@strongbox/core/parts` loads, itself included. */
const partsClosure = () => closure(join(CORE_SRC, "parts.ts"));

/** The `@strongbox/...` packages and entries (values, not types) that `files` import. */
function packageImports(files: Iterable<string>): Set<string> {
  const found = new Set<string>();
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(/^import(?!\s+type\b)[^;]*?from\s+"(@strongbox\/[^"]+)";/gms))
      found.add(match[1]!);
  }
  return found;
}

describe("@strongbox/core/parts", () => {
  test("loads none of the manager, schedules, packer or their dependencies", () => {
    const loaded = [...partsClosure()].map((file) => file.slice(CORE_SRC.length + 1));
    expect(loaded).toContain("archive/extract/extract.ts");
    for (const heavy of ["manager/manager.ts", "schedule/scheduler.ts", "archive/pack/pack.ts"])
      expect(loaded).not.toContain(heavy);
    const text = [...partsClosure()].map((file) => readFileSync(file, "utf8")).join("\n");
    expect(text).not.toMatch(/from "(croner|p-queue)"/);
  });

  test("the repository and the storage adapters take only it from core, so they start without the rest", () => {
    const offenders: string[] = [];
    for (const name of ["repository", "storage-local", "storage-s3"]) {
      const src = join(PACKAGES, name, "src");
      for (const file of readdirSync(src, { recursive: true, encoding: "utf8" })) {
        if (!file.endsWith(".ts")) continue;
        const text = readFileSync(join(src, file), "utf8");
        if (/^import(?!\s+type\b)[^;]*?from\s+"@strongbox\/core";/ms.test(text))
          offenders.push(`${name}/${file}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  test("a chunk worker thread takes only @strongbox/core/threads, which loads three modules", () => {
    const threads = [...closure(join(CORE_SRC, "threads.ts"))].map((file) => file.slice(CORE_SRC.length + 1));
    expect(threads.sort()).toEqual([
      "archive/gzip/deflate-incompressible.ts",
      "archive/spawn-worker.ts",
      "archive/thread-priority.ts",
      "threads.ts",
    ]);
    const worker = closure(join(PACKAGES, "repository", "src", "chunk-worker.ts"));
    expect([...packageImports(worker)]).toEqual(["@strongbox/core/threads"]);
  });
});

import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { applyChurnDay } from "../src/churn.js";
import { ensureFleet, FLEET_SERVERS } from "../src/fleet.js";
import { ensureTree, TREE_NAMES } from "../src/generate.js";
import { checkTargets, median, renderMarkdown } from "../src/report.js";

const dirs: string[] = [];
const temp = () => {
  const dir = mkdtempSync(join(tmpdir(), "strongbox-bench-"));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function digest(root: string): string {
  const hash = createHash("sha256");
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true }).sort((a, b) =>
    join(a.parentPath, a.name).localeCompare(join(b.parentPath, b.name)),
  )) {
    const path = join(entry.parentPath, entry.name);
    hash.update(path.slice(root.length));
    if (entry.isFile()) hash.update(readFileSync(path));
  }
  return hash.digest("hex");
}

describe("tree generators", () => {
  it.each(TREE_NAMES)("%s is deterministic and counts what it wrote", (name) => {
    const a = ensureTree(temp(), name, 0.001);
    const b = ensureTree(temp(), name, 0.001);
    expect(digest(a.root)).toBe(digest(b.root));
    const files = readdirSync(a.root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(files.length).toBe(a.info.files);
  });

  it("half of many-small is text that compresses and half random bytes", () => {
    const { root } = ensureTree(temp(), "many-small", 0.001);
    const text = readFileSync(join(root, "d0/s0/f0.txt"));
    const bin = readFileSync(join(root, "d0/s0/f1.bin"));
    expect(text.toString("utf8")).toMatch(/^[a-z= \n]+$/);
    expect(new Set(bin).size).toBeGreaterThan(200);
  });
});

describe("report", () => {
  it("takes medians and checks targets as ratios", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    const tree = { name: "many-small" as const, scale: 1, files: 10, bytes: 2 ** 20, ignore: [] };
    const s = (seconds: number) => [{ seconds, cpuSeconds: seconds, rssMiB: 100 }];
    const results = [
      { id: "strongbox -1", kind: "pack" as const, samples: s(9) },
      { id: "tar | pigz -1", kind: "pack" as const, samples: s(10) },
      {
        id: "strongbox unpack",
        kind: "unpack" as const,
        samples: [{ seconds: 14, cpuSeconds: 14, rssMiB: 200 }],
      },
      { id: "tar -xzf", kind: "unpack" as const, samples: s(10) },
    ];
    const targets = checkTargets(tree, results);
    expect(targets.find((t) => t.target.startsWith("pack -1"))).toMatchObject({ met: true, ratio: 0.9 });
    expect(targets.find((t) => t.target.startsWith("unpack"))).toMatchObject({ met: false, ratio: 1.4 });
    expect(targets.find((t) => t.target === "strongbox unpack peak RSS <= 150 MiB")?.met).toBe(false);
    const markdown = renderMarkdown({ date: "d", scale: 1 }, [{ tree, results, targets }]);
    expect(markdown).toContain("| tar \\| pigz -1 |");
    // Compared with the first Strongbox row of its kind (pack -1: 9 s), not a later one.
    const withLevel0 = [...results, { id: "strongbox -0", kind: "pack" as const, samples: s(2) }];
    expect(renderMarkdown({}, [{ tree, results: withLevel0, targets }])).toMatch(
      /\| tar \\\| pigz -1 \|.*\| 0\.90 \|/,
    );
  });
});

describe("churn", () => {
  it("changes the game-server tree the same way each time, and reports what it wrote", () => {
    const runs = [temp(), temp()].map((dir) => {
      const { root } = ensureTree(dir, "game-server", 0.01);
      const before = digest(root);
      const days = [1, 2, 3, 4].map((day) => applyChurnDay(root, day, 0.01));
      return { root, before, after: digest(root), days };
    });
    const [a, b] = runs as [(typeof runs)[number], (typeof runs)[number]];
    expect(a.after).toBe(b.after);
    expect(a.after).not.toBe(a.before);
    expect(a.days).toEqual(b.days);
    const changed = new Set(a.days.flatMap((day) => day.changed));
    expect(changed).toContain("world/level.dat");
    expect(changed).toContain("world/region/r.new-2.mca");
    expect([...changed].some((path) => path.startsWith("plugins/") && path.endsWith(".jar"))).toBe(true);
    expect([...changed].filter((path) => path.startsWith("config/")).length).toBeGreaterThan(0);
    for (const day of a.days) {
      expect(day.changed.some((path) => path.startsWith("world/region/"))).toBe(true);
    }
  });
});

describe("fleet", () => {
  it("gives every server the same template byte for byte and a world of its own, the same each time", () => {
    const [a, b] = [temp(), temp()].map((dir) => ensureFleet(dir, 0.002)) as [
      ReturnType<typeof ensureFleet>,
      ReturnType<typeof ensureFleet>,
    ];
    expect(a.servers).toHaveLength(FLEET_SERVERS);
    expect(a.servers.map(digest)).toEqual(b.servers.map(digest));
    expect(a.info).toEqual(b.info);
    const files = (root: string) =>
      readdirSync(root, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name).slice(root.length + 1))
        .sort();
    const [first, second] = a.servers as [string, string];
    const template = files(first).filter(
      (path) => !path.startsWith("world/") && path !== "server.properties",
    );
    expect(template).toHaveLength(a.info.templateFiles);
    expect(template).toEqual(files(second).filter((path) => template.includes(path)));
    for (const path of template)
      expect(readFileSync(join(second, path))).toEqual(readFileSync(join(first, path)));
    expect(readFileSync(join(second, "world/level.dat"))).not.toEqual(
      readFileSync(join(first, "world/level.dat")),
    );
    const bytes = (root: string, paths: string[]) =>
      paths.reduce((sum, path) => sum + readFileSync(join(root, path)).length, 0);
    expect(bytes(first, template)).toBe(a.info.templateBytes);
    // At scale 1: about 300 MiB of template and 30 MiB of world per server.
    expect(a.info.templateBytes / 0.002 / 2 ** 20).toBeCloseTo(300, -1);
    expect(a.info.worlds).toHaveLength(FLEET_SERVERS);
    for (const world of a.info.worlds) expect(world / 0.002 / 2 ** 20).toBeGreaterThan(28);
    expect(a.info.worlds.reduce((sum, w) => sum + w, 0)).toBe(a.info.worldBytes);
  });
});

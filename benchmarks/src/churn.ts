/**
 * A game server's tree changing day by day, deterministically (the same tree, day and scale always make the
 * same change): what an incremental backup meets night after night. Applied in place to a `game-server`
 * tree from `ensureTree`.
 */
import { closeSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { Bytes } from "./generate.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const SECTOR = 4 * KiB;

/** What one day changed: relative paths written or created, and the bytes written. */
export interface ChurnDay {
  day: number;
  changed: string[];
  bytes: number;
}

/**
 * Applies day `day` (1, 2, ...) of churn to the game-server tree at `root`, made at `scale`:
 * - region files: in about 40 of the overworld's regions, a dozen chunks rewritten in place, each 1-6
 *   sectors of 4 KiB at a sector boundary (what the game does as players move around);
 * - a new region file every second day (players explore), `level.dat` rewritten every day;
 * - the log appended (1 MiB; ignored by the tree's rules), five config files edited (a line changed);
 * - every fourth day one plugin jar replaced by a new version.
 * About 10 MiB of logical change a day at scale 1 (793 MiB) besides the ignored log, as a busy survival
 * server.
 */
export function applyChurnDay(root: string, day: number, scale: number): ChurnDay {
  const g = new Bytes(`churn-${day}`);
  const count = (n: number) => Math.max(1, Math.round(n * scale));
  const result: ChurnDay = { day, changed: [], bytes: 0 };
  const note = (path: string, bytes: number) => {
    if (!result.changed.includes(path)) result.changed.push(path);
    result.bytes += bytes;
  };

  const regions = sorted(join(root, "world/region")).filter((name) => name.endsWith(".mca"));
  for (let i = 0; i < count(40); i++) {
    const name = regions[g.int(0, regions.length - 1)]!;
    const path = join(root, "world/region", name);
    const sectors = Math.floor(statSync(path).size / SECTOR);
    const fd = openSync(path, "r+");
    try {
      for (let j = 0; j < 12; j++) {
        const length = g.int(1, 6);
        // Sector 0 and 1 hold the region's header; the chunk's sectors follow it.
        const at = g.int(2, Math.max(2, sectors - length));
        const data = g.random(length * SECTOR);
        writeSync(fd, data, 0, data.length, at * SECTOR);
        note(`world/region/${name}`, data.length);
      }
      // The header's location and timestamp entries of those chunks change too.
      const header = g.random(64);
      writeSync(fd, header, 0, header.length, g.int(0, 2 * SECTOR - 64));
    } finally {
      closeSync(fd);
    }
  }
  if (day % 2 === 0) {
    const parts: Buffer[] = [Buffer.alloc(2 * SECTOR)];
    const target = g.int(2, 8) * MiB * Math.min(1, scale);
    for (let size = 2 * SECTOR; size < target; ) {
      const chunk = g.int(1, 6) * SECTOR;
      parts.push(g.random(chunk - 512), Buffer.alloc(512));
      size += chunk;
    }
    const name = `world/region/r.new-${day}.mca`;
    const data = Buffer.concat(parts);
    writeFileSync(join(root, name), data);
    note(name, data.length);
  }
  writeFileSync(join(root, "world/level.dat"), g.random(4096));
  note("world/level.dat", 4096);

  const log = g.textOf(MiB);
  writeFileSync(join(root, "logs/latest.log"), log, { flag: "a" });
  note("logs/latest.log", log.length);

  const configs = sorted(join(root, "config"));
  for (let i = 0; i < 5; i++) {
    const name = configs[g.int(0, configs.length - 1)]!;
    const path = join(root, "config", name);
    const text = readFileSync(path);
    const at = g.int(0, Math.max(0, text.length - 40));
    const edited = Buffer.concat([text.subarray(0, at), g.textOf(40), text.subarray(at + 40)]);
    writeFileSync(path, edited);
    note(`config/${name}`, 40);
  }

  if (day % 4 === 0) {
    const jars = sorted(join(root, "plugins")).filter((name) => name.endsWith(".jar"));
    const name = jars[g.int(0, jars.length - 1)]!;
    const data = g.random(g.int(100, 5000) * KiB);
    writeFileSync(join(root, "plugins", name), data);
    note(`plugins/${name}`, data.length);
  }
  return result;
}

function sorted(dir: string): string[] {
  return readdirSync(dir).sort();
}

/**
 * A fleet of game servers made from one modpack, deterministically: every server holds the same template
 * (server jar, libraries, mods, their configs: byte for byte) and a world of its own (random region files,
 * player data, its own server.properties). What a host running many servers of one pack backs up; a
 * deduplicating repository should store the template once.
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Bytes } from "./generate.js";

/** Servers in the fleet. */
export const FLEET_SERVERS = 10;

const KiB = 1024;
const MiB = 1024 * KiB;
/** At scale 1: the template and each server's world. */
const TEMPLATE_BYTES = 300 * MiB;
const WORLD_BYTES = 30 * MiB;

/** What a generated fleet holds. */
export interface FleetInfo {
  scale: number;
  servers: number;
  /** The template, once (every server holds a copy). */
  templateFiles: number;
  templateBytes: number;
  /** The worlds of all servers together. */
  worldFiles: number;
  worldBytes: number;
  /** Bytes of each server's world. */
  worlds: number[];
}

/**
 * Generates the fleet at `scale` under `dataDir` (reused when made with the same parameters): folders
 * `server-0` ... `server-9`, each the template plus its own world (at scale 1 about 300 MiB and 30 MiB).
 * The template is written once and copied (not hard-linked) into the other servers.
 */
export function ensureFleet(
  dataDir: string,
  scale: number,
): { root: string; servers: string[]; info: FleetInfo } {
  const root = join(dataDir, `fleet@${scale}`);
  const stamp = join(dataDir, `fleet@${scale}.json`);
  const servers = Array.from({ length: FLEET_SERVERS }, (_, i) => join(root, `server-${i}`));
  try {
    const made = JSON.parse(readFileSync(stamp, "utf8")) as FleetInfo;
    if (Array.isArray(made.worlds)) return { root, servers, info: made };
  } catch {
    // not generated yet (or interrupted): make it from scratch
  }
  rmSync(root, { recursive: true, force: true });
  const info: FleetInfo = {
    scale,
    servers: FLEET_SERVERS,
    templateFiles: 0,
    templateBytes: 0,
    worldFiles: 0,
    worldBytes: 0,
    worlds: [],
  };
  const template = writeTemplate(servers[0]!, scale);
  info.templateFiles = template.length;
  info.templateBytes = template.reduce((sum, file) => sum + file.bytes, 0);
  for (const server of servers.slice(1)) {
    for (const { path } of template) {
      mkdirSync(join(server, path, ".."), { recursive: true });
      copyFileSync(join(servers[0]!, path), join(server, path));
    }
  }
  // One stream for all worlds, drawn server after server (a Bytes costs its 4 MiB text pool to make).
  const g = new Bytes("fleet-worlds");
  servers.forEach((server, i) => {
    const world = writeWorld(g, server, i, scale);
    const bytes = world.reduce((sum, file) => sum + file.bytes, 0);
    info.worldFiles += world.length;
    info.worldBytes += bytes;
    info.worlds.push(bytes);
  });
  writeFileSync(stamp, JSON.stringify(info));
  return { root, servers, info };
}

interface Written {
  path: string;
  bytes: number;
}

function writer(root: string) {
  const written: Written[] = [];
  const write = (path: string, data: Buffer) => {
    const full = join(root, path);
    mkdirSync(join(full, ".."), { recursive: true });
    writeFileSync(full, data);
    written.push({ path, bytes: data.length });
  };
  return { written, write };
}

/** Files of sizes drawn from [min, max] (the last one cut to fit) until `budget` bytes are written. */
function fill(
  g: Bytes,
  budget: number,
  min: number,
  max: number,
  file: (n: number, size: number) => void,
): void {
  let left = Math.max(1, Math.round(budget));
  for (let n = 0; left > 0; n++) {
    const size = Math.min(left, g.int(min, max));
    file(n, size);
    left -= size;
  }
}

/** The modpack: server jar, libraries, mods (jars: incompressible) and their configs (text). */
function writeTemplate(root: string, scale: number): Written[] {
  const g = new Bytes("fleet-template");
  const { written, write } = writer(root);
  const budget = TEMPLATE_BYTES * scale;
  write("server.jar", g.random(Math.max(KiB, Math.round(budget * 0.12))));
  fill(g, budget * 0.2, 20 * KiB, 2 * MiB, (n, size) =>
    write(`libraries/lib-${n % 17}/lib-${n}.jar`, g.random(size)),
  );
  fill(g, budget * 0.6, 20 * KiB, 4 * MiB, (n, size) => write(`mods/mod-${n}.jar`, g.random(size)));
  fill(g, budget * 0.06, 200, 12 * KiB, (n, size) =>
    write(`config/mod-${n % 97}/config-${n}.toml`, g.textOf(size)),
  );
  fill(g, budget * 0.02, 200, 8 * KiB, (n, size) => write(`kubejs/scripts/script-${n}.js`, g.textOf(size)));
  write("eula.txt", Buffer.from("eula=true\n"));
  return written;
}

/** One server's own files: region files (random chunks padded to 4 KiB sectors), player data, properties. */
function writeWorld(g: Bytes, root: string, server: number, scale: number): Written[] {
  const { written, write } = writer(root);
  const budget = WORLD_BYTES * scale;
  write("server.properties", g.textOf(1500));
  write("world/level.dat", g.random(4 * KiB));
  fill(g, budget * 0.95, 1 * MiB, 6 * MiB, (n, size) => {
    const parts: Buffer[] = [Buffer.alloc(Math.min(size, 8 * KiB))];
    let at = parts[0]!.length;
    while (at < size) {
      const chunk = Math.min(size - at, g.int(1, 6) * 4 * KiB);
      const data = Math.max(0, chunk - 512);
      parts.push(g.random(data), Buffer.alloc(chunk - data));
      at += chunk;
    }
    write(`world/region/r.${n % 5}.${Math.floor(n / 5)}.mca`, Buffer.concat(parts));
  });
  fill(g, budget * 0.05, 2 * KiB, 16 * KiB, (n, size) =>
    write(`world/playerdata/player-${server}-${n}.dat`, g.random(size)),
  );
  return written;
}

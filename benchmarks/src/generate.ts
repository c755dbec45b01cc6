/**
 * Deterministic benchmark trees. The same name and scale always give the same bytes, so runs on different
 * days compare. Random bytes come from AES-CTR over zeros (fast and reproducible); text from a fixed
 * word pool.
 */
import { createCipheriv, createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The trees the harness knows. */
export const TREE_NAMES = ["many-small", "few-large", "game-server"] as const;
export type TreeName = (typeof TREE_NAMES)[number];

/** What a generated tree holds. */
export interface TreeInfo {
  name: TreeName;
  scale: number;
  files: number;
  bytes: number;
  /** Ignore rules a backup of this tree uses (game-server ignores logs/ and cache/). */
  ignore: string[];
}

/** Reproducible random bytes, numbers and text, all drawn from one keyed stream. */
export class Bytes {
  private readonly cipher;
  private readonly text: Buffer;
  private seed = 0;

  constructor(label: string) {
    const key = createHash("sha256").update(label).digest().subarray(0, 16);
    this.cipher = createCipheriv("aes-128-ctr", key, Buffer.alloc(16));
    this.text = makeTextPool(this.random(64 * 1024), 4 * 1024 * 1024);
  }

  random(size: number): Buffer {
    return this.cipher.update(Buffer.alloc(size));
  }

  /** A number in [0, 1) from the random stream. */
  next(): number {
    return this.random(4).readUInt32LE(0) / 2 ** 32;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  textOf(size: number): Buffer {
    const out = Buffer.allocUnsafe(size);
    let at = 0;
    while (at < size) {
      this.seed = (this.seed + 7919 * 4099) % (this.text.length - 1);
      const take = Math.min(size - at, this.text.length - this.seed, 256 * 1024);
      this.text.copy(out, at, this.seed, this.seed + take);
      at += take;
    }
    return out;
  }
}

function makeTextPool(entropy: Buffer, size: number): Buffer {
  const syllables = [
    "ka",
    "lo",
    "mi",
    "ne",
    "ru",
    "ta",
    "vo",
    "sh",
    "en",
    "or",
    "ing",
    "the",
    "and",
    "block",
    "chunk",
  ];
  const words: string[] = [];
  for (let i = 0; i < 2048; i++) {
    let w = "";
    const n = 1 + (entropy[i % entropy.length]! % 4);
    for (let j = 0; j < n; j++) w += syllables[entropy[(i * 7 + j) % entropy.length]! % syllables.length];
    words.push(w);
  }
  const parts: string[] = [];
  let length = 0;
  let i = 0;
  while (length < size) {
    const a = entropy[i % entropy.length]!;
    const b = entropy[(i * 13 + 5) % entropy.length]!;
    const word = words[(a * 8 + b + i) % words.length]!;
    const sep = i % 17 === 16 ? "\n" : i % 5 === 4 ? "=" : " ";
    parts.push(word, sep);
    length += word.length + 1;
    i++;
  }
  return Buffer.from(parts.join("")).subarray(0, size);
}

function writeFile(root: string, path: string, data: Buffer, info: TreeInfo): void {
  const full = join(root, path);
  mkdirSync(join(full, ".."), { recursive: true });
  writeFileSync(full, data);
  info.files++;
  info.bytes += data.length;
}

function manySmall(root: string, scale: number, info: TreeInfo): void {
  const g = new Bytes("many-small");
  const files = Math.max(20, Math.round(100_000 * scale));
  const perDir = 100;
  for (let i = 0; i < files; i++) {
    const dir = Math.floor(i / perDir);
    const path = `d${Math.floor(dir / 10)}/s${dir % 10}/f${i}.${i % 2 ? "bin" : "txt"}`;
    const size = g.int(1024, 16 * 1024);
    writeFile(root, path, i % 2 ? g.random(size) : g.textOf(size), info);
  }
}

function fewLarge(root: string, scale: number, info: TreeInfo): void {
  const g = new Bytes("few-large");
  for (let i = 0; i < 20; i++) {
    const size = Math.max(64 * 1024, Math.round(g.int(50, 200) * 1024 * 1024 * scale));
    const full = join(root, `large-${i}.${i % 2 ? "bin" : "log"}`);
    const chunk = 8 * 1024 * 1024;
    writeFileSync(full, "");
    for (let at = 0; at < size; at += chunk) {
      const n = Math.min(chunk, size - at);
      writeFileSync(full, i % 2 ? g.random(n) : g.textOf(n), { flag: "a" });
    }
    info.files++;
    info.bytes += size;
  }
}

function gameServer(root: string, scale: number, info: TreeInfo): void {
  const g = new Bytes("game-server");
  const count = (n: number) => Math.max(2, Math.round(n * scale));
  const mib = 1024 * 1024;
  for (const world of ["world", "world_nether", "world_the_end"]) {
    for (let i = 0; i < count(world === "world" ? 80 : 20); i++) {
      // Region files: compressed chunks (random) padded to 4 KiB sectors (zeros).
      const parts: Buffer[] = [Buffer.alloc(8192)];
      let size = 8192;
      const target = g.int(2, 8) * mib;
      while (size < target) {
        const chunk = g.int(1, 6) * 4096;
        parts.push(g.random(chunk - 512), Buffer.alloc(512));
        size += chunk;
      }
      writeFile(root, `${world}/region/r.${i % 9}.${Math.floor(i / 9)}.mca`, Buffer.concat(parts), info);
    }
    writeFile(root, `${world}/level.dat`, g.random(4096), info);
  }
  for (let i = 0; i < count(30); i++) {
    writeFile(root, `plugins/plugin-${i}.jar`, g.random(g.int(100, 5000) * 1024), info);
    for (let j = 0; j < 20; j++)
      writeFile(root, `plugins/plugin-${i}/config-${j}.yml`, g.textOf(g.int(200, 8000)), info);
  }
  for (let i = 0; i < count(1500); i++)
    writeFile(root, `config/mod-${i}.json`, g.textOf(g.int(100, 4000)), info);
  writeFile(root, "server.jar", g.random(Math.max(64 * 1024, Math.round(40 * mib * scale))), info);
  writeFile(root, "server.properties", g.textOf(1500), info);
  writeFile(root, "eula.txt", Buffer.from("eula=true\n"), info);
  for (let i = 0; i < count(40); i++) writeFile(root, `logs/${i}.log`, g.textOf(mib), info);
  for (let i = 0; i < count(400); i++)
    writeFile(root, `cache/c${i}.bin`, g.random(g.int(1, 64) * 1024), info);
  info.ignore = ["logs/", "cache/", "*.log"];
}

const GENERATORS: Record<TreeName, (root: string, scale: number, info: TreeInfo) => void> = {
  "many-small": manySmall,
  "few-large": fewLarge,
  "game-server": gameServer,
};

/**
 * Generates `name` at `scale` under `dataDir` (reusing it when it was made with the same parameters) and
 * returns where it is and what it holds.
 */
export function ensureTree(dataDir: string, name: TreeName, scale: number): { root: string; info: TreeInfo } {
  const root = join(dataDir, `${name}@${scale}`);
  const stamp = join(dataDir, `${name}@${scale}.json`);
  try {
    return { root, info: JSON.parse(readFileSync(stamp, "utf8")) as TreeInfo };
  } catch {
    // not generated yet (or interrupted): make it from scratch
  }
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const info: TreeInfo = { name, scale, files: 0, bytes: 0, ignore: [] };
  GENERATORS[name](root, scale, info);
  writeFileSync(stamp, JSON.stringify(info));
  return { root, info };
}

// node strongbox-pack.mjs <dir> <out.tar.gz> <level> [ignore-json]: one Strongbox pack, as a user's process would run it.
import { packToFile } from "@strongbox/core";

const [dir, out, level, ignore] = process.argv.slice(2);
const result = await packToFile(dir, out, { level: Number(level), ignore: ignore ? JSON.parse(ignore) : [] });
console.log(JSON.stringify({ ...result, maxRssKiB: process.resourceUsage().maxRSS }));

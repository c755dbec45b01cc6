// node tar-fs.mjs pack <dir> <out> <level> | unpack <archive> <dir>: the tar-fs 3 + zlib peer.
import { createReadStream, createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import tarFs from "tar-fs";

const [op, a, b, level] = process.argv.slice(2);
if (op === "pack") await pipeline(tarFs.pack(a), createGzip({ level: Number(level) }), createWriteStream(b));
else await pipeline(createReadStream(a), createGunzip(), tarFs.extract(b));
console.log(JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS }));

// node node-tar.mjs pack <dir> <out> <level> | unpack <archive> <dir>: the node-tar 7 peer.
import * as tar from "tar";

const [op, a, b, level] = process.argv.slice(2);
if (op === "pack") await tar.c({ gzip: { level: Number(level) }, file: b, cwd: a, portable: true }, ["."]);
else await tar.x({ file: a, cwd: b });
console.log(JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS }));

// node strongbox-unpack.mjs <archive.tar.gz> <dir> <truncate|merge>: one Strongbox extract.
import { createReadStream } from "node:fs";
import { extract } from "@strongbox/core";

const [archive, dir, mode] = process.argv.slice(2);
const result = await extract(createReadStream(archive), dir, { mode });
console.log(JSON.stringify({ ...result, maxRssKiB: process.resourceUsage().maxRSS }));

import { existsSync } from "node:fs";
import { backup, initRepository, openRepository } from "@strongbox/repository";
import { createLocalStorage } from "@strongbox/storage-local";

const [src, store, ignore] = process.argv.slice(2);
const storage = createLocalStorage({ root: store });
const repo = existsSync(store + "/config.json")
  ? await openRepository({ storage })
  : await initRepository({ storage });
const t = performance.now();
const s = await backup(repo, { source: src, server: "a", ignore: ignore ? JSON.parse(ignore) : [] });
console.log(
  ((performance.now() - t) / 1000).toFixed(2),
  "s",
  JSON.stringify(s.counts),
  "rss",
  (process.resourceUsage().maxRSS / 1024).toFixed(0),
);

// node serve-load.mjs <tree> <servers> <backups> <clients>: the API's latency while backups run. Starts
// `strongbox serve` on <servers> server folders (copies of <tree>); first <clients> clients
// poll the backup lists for a few seconds with nothing running (the machine's own latency, the baseline);
// then it asks for <backups> backups at once (one per server, the first <backups> servers), and while
// they run the clients poll the backup list and a backup's details as fast as they are answered. Reports
// the latency percentiles of those requests, the serve process's peak RSS (VmHWM) and CPU time, and how
// long the backups took, as JSON on its last line.
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const [tree, servers, backups, clients] = process.argv.slice(2);
const CLI = fileURLToPath(new URL("../../../packages/cli/bin/strongbox.js", import.meta.url));
const TOKEN = "bench-token-0123456789";
/** How long the clients poll before any backup runs. */
const IDLE_MS = 3000;

const work = await mkdtemp(join(tmpdir(), "strongbox-bench-serve-"));
const serversRoot = join(work, "servers");
const storage = join(work, "backups");
await mkdir(serversRoot);
await mkdir(storage);
const ids = Array.from({ length: Number(servers) }, (_, i) => `server-${i + 1}`);
// Real copies, not hard links: pack keeps an index of files with more than one name (to archive the
// later names as links), which a real server's files do not need.
for (const id of ids) execFileSync("cp", ["-a", tree, join(serversRoot, id)]);

// The command itself, as a user runs it: the Node options of its first line apply.
const serve = spawn(
  CLI,
  ["serve", "--storage", storage, "--servers-root", serversRoot, "--port", "0", "--token", TOKEN],
  { stdio: ["ignore", "pipe", "inherit"] },
);
try {
  const [line] = await once(createInterface({ input: serve.stdout }), "line");
  const base = /Listening on (\S+)/.exec(line)?.[1];
  if (base === undefined) throw new Error(`serve said: ${line}`);
  const api = async (path, init = {}) => {
    const request = () =>
      fetch(`${base}/api/client/servers/${path}`, {
        ...init,
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      });
    // A kept-alive connection the server closes (after 5 s idle) just as a request leaves on it resets:
    // a GET is sent again on a fresh one, its latency counting both tries.
    return request().catch((error) => {
      if (init.method !== undefined || error.cause?.code !== "ECONNRESET") throw error;
      return request();
    });
  };

  const idle = [];
  const idleUntil = performance.now() + IDLE_MS;
  await Promise.all(
    Array.from({ length: Number(clients) }, async (_, n) => {
      for (let i = n; performance.now() < idleUntil; i++) {
        const start = performance.now();
        const response = await api(`${ids[i % ids.length]}/backups?per_page=20&page=1`);
        await response.json();
        idle.push(performance.now() - start);
      }
    }),
  );

  const started = performance.now();
  const cpuBefore = await cpuSeconds(serve.pid);
  const mainBefore = await cpuSeconds(serve.pid, serve.pid);
  const wanted = ids.slice(0, Number(backups));
  const created = await Promise.all(
    wanted.map(async (id) => {
      const response = await api(`${id}/backups`, {
        method: "POST",
        body: JSON.stringify({ name: "bench" }),
      });
      if (!response.ok) throw new Error(`create on ${id}: ${response.status} ${await response.text()}`);
      return { id, uuid: (await response.json()).attributes.uuid };
    }),
  );
  const pending = new Set(created.map((backup) => backup.uuid));
  const latencies = [];
  const timed = async (path) => {
    const start = performance.now();
    const response = await api(path);
    const body = await response.json();
    latencies.push(performance.now() - start);
    if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${JSON.stringify(body)}`);
    return body;
  };
  const client = async (n) => {
    for (let i = n; pending.size > 0; i++) {
      const backup = created[i % created.length];
      await timed(`${backup.id}/backups?per_page=20&page=1`);
      const details = await timed(`${backup.id}/backups/${backup.uuid}`);
      if (details.attributes.completed_at === null) continue;
      if (!details.attributes.is_successful) throw new Error(`backup on ${backup.id} failed`);
      if (pending.delete(backup.uuid) && pending.size === 0) break;
    }
  };
  await Promise.all(Array.from({ length: Number(clients) }, (_, n) => client(n)));
  const seconds = (performance.now() - started) / 1000;
  const cpu = (await cpuSeconds(serve.pid)) - cpuBefore;
  const mainThreadCpu = (await cpuSeconds(serve.pid, serve.pid)) - mainBefore;
  const status = await readFile(`/proc/${serve.pid}/status`, "utf8");
  const peakRssKiB = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
  console.log(
    JSON.stringify({
      seconds,
      cpuSeconds: cpu,
      mainThreadCpuSeconds: mainThreadCpu,
      maxRssKiB: peakRssKiB,
      requests: latencies.length,
      latencyMs: percentiles(latencies),
      idleRequests: idle.length,
      idleLatencyMs: percentiles(idle),
    }),
  );
} finally {
  serve.kill("SIGTERM");
  await once(serve, "exit");
  await rm(work, { recursive: true, force: true });
}

/** User + system CPU seconds of process `pid` so far (its threads included), or of its thread `tid`. */
async function cpuSeconds(pid, tid) {
  const file = tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`;
  const fields = (await readFile(file, "utf8")).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** p50, p95, p99 and max of `values` (ms). */
function percentiles(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  return { p50: at(50), p95: at(95), p99: at(99), max: sorted.at(-1) };
}

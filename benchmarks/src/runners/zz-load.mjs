import { listSnapshots, loadIndex, openRepository } from "@strongbox/repository";
import { createLocalStorage } from "@strongbox/storage-local";

const repo = await openRepository({ storage: createLocalStorage({ root: "/tmp/ms-repo" }) });
for (let i = 0; i < 4; i++) {
  let t = performance.now();
  const { index } = await loadIndex(repo);
  const a = performance.now() - t;
  t = performance.now();
  const s = await listSnapshots(repo, { server: "s1" });
  const b = performance.now() - t;
  t = performance.now();
  await Promise.all([loadIndex(repo), listSnapshots(repo, { server: "s1" })]);
  const c = performance.now() - t;
  console.log(
    `index ${index.size} ${a.toFixed(1)} ms; ${s.length} snapshots ${b.toFixed(1)} ms; both ${c.toFixed(1)}`,
  );
}

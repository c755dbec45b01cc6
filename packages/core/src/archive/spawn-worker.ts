import { type ResourceLimits, type Transferable, Worker } from "node:worker_threads";

/**
 * Limits for a worker that makes much buffer memory (zlib's output) but little JavaScript: with a small
 * young generation V8 collects every MiB or so, freeing dead buffers; with its default a worker sits on
 * tens of MiB of them (measured: peak RSS of a pack 190 MiB without this, 155 MiB with it).
 */
export const COLLECT_OFTEN: ResourceLimits = { maxYoungGenerationSizeMb: 1 };

/**
 * Starts the worker module `name` (without extension) that lies beside `base` (a module's
 * `import.meta.url`). From compiled code that is `<name>.js`. From TypeScript sources (vitest, tsx) it is
 * `<name>.ts`, which a worker cannot load by itself: a tiny bootstrap registers tsx's loader in the
 * worker first (`execArgv: ["--import", "tsx"]` is not applied to workers on every Node 20 release).
 */
export function spawnWorker(
  base: string,
  name: string,
  workerData: unknown,
  resourceLimits: ResourceLimits = {},
  transferList: readonly Transferable[] = [],
): Worker {
  const options = { workerData, resourceLimits, transferList: [...transferList] };
  if (!base.endsWith(".ts")) return new Worker(new URL(`./${name}.js`, base), options);
  const entry = new URL(`./${name}.ts`, base).href;
  const tsx = import.meta.resolve("tsx/esm/api");
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeStorageContract } from "@strongbox/core/testing";
import { createDownloadHandler, createLocalStorage } from "../src/index.js";

describeStorageContract("local", async () => {
  const root = await mkdtemp(join(tmpdir(), "strongbox-local-"));
  let offset = 0;
  const server = createServer();
  await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
  const { port } = server.address() as AddressInfo;
  const adapter = createLocalStorage({
    root,
    pageSize: 2,
    downloads: {
      secret: "contract-test-secret-0123456789abcdef",
      baseUrl: `http://127.0.0.1:${port}`,
      now: () => Date.now() + offset,
    },
  });
  const handle = createDownloadHandler(adapter);
  server.on("request", async (req, res) => {
    if (!(await handle(req, res))) res.writeHead(404).end();
  });
  return {
    adapter,
    listPageSize: 2,
    partSize: 1024 * 1024,
    shiftClock: (ms) => {
      offset += ms;
    },
    cleanup: async () => {
      server.closeAllConnections();
      await new Promise((closed) => server.close(closed));
      await rm(root, { recursive: true, force: true });
    },
  };
});

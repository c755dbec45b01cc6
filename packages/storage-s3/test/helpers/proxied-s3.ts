import { afterEach, beforeEach } from "vitest";
import { type FaultProxy, startFaultProxy } from "./fault-proxy.js";
import { type FakeS3, startFakeS3 } from "./s3rver.js";

/**
 * Registers per-test hooks that start s3rver with the fault proxy in front of it, and stop both after each
 * test. Read `s3` and `proxy` from the returned object inside tests.
 */
export function useProxiedS3(): { readonly s3: FakeS3; readonly proxy: FaultProxy } {
  let s3: FakeS3 | undefined;
  let proxy: FaultProxy | undefined;
  beforeEach(async () => {
    s3 = await startFakeS3();
    proxy = await startFaultProxy(s3.endpoint);
  });
  afterEach(async () => {
    await proxy?.stop();
    await s3?.stop();
    proxy = undefined;
    s3 = undefined;
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("useProxiedS3's servers only run inside a test.");
    return value;
  };
  return {
    get s3() {
      return started(s3);
    },
    get proxy() {
      return started(proxy);
    },
  };
}

import { describeStorageContract } from "@strongbox/core/testing";
import { PART_SIZE, testStorage } from "./helpers/adapter.js";
import { startFakeS3 } from "./helpers/s3rver.js";

describeStorageContract("s3 (s3rver)", async () => {
  const s3 = await startFakeS3();
  let clockOffset = 0;
  const adapter = testStorage(s3.endpoint, s3.bucket, { now: () => new Date(Date.now() + clockOffset) });
  return {
    adapter,
    listPageSize: 2,
    partSize: PART_SIZE,
    shiftClock: (ms) => {
      clockOffset += ms;
    },
    cleanup: () => s3.stop(),
  };
});

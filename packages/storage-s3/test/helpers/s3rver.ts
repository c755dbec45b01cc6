import "./quiet-sdk.js";

export { type FakeS3, S3RVER_CREDENTIALS, startFakeS3 } from "./fake-s3.mjs";

/** The XML body S3 sends with an error status. */
export function s3ErrorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

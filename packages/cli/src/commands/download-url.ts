import { StrongboxError } from "@strongbox/core";
import type { LocalDownloadOptions } from "@strongbox/storage-local";
import { type Command, expectPositionals, parseCommandArgs } from "../command.js";
import {
  parseWholeNumber,
  requireTarget,
  TARGET_HELP,
  TARGET_OPTIONS,
  type Target,
  withManager,
} from "../manager-from-flags.js";
import { createOutput } from "../output.js";
import { parseStorageUrl } from "../storage-url.js";

const USAGE = `Usage: strongbox download-url <uuid> --storage <URL> --server <ID> [options]

Prints a link that downloads a successful backup without other credentials, until it expires.
S3 links are presigned. Local-disk links are signed with STRONGBOX_DOWNLOAD_SECRET (at least 32 bytes,
e.g. from "openssl rand -hex 32") and served by "strongbox serve" with the same secret at the base URL.

Options:
${TARGET_HELP}
      --expires <seconds>  How long the link works (default 900, at most 604800)
      --base-url <URL>     Local disk: where "strongbox serve" answers (default: $STRONGBOX_BASE_URL)
      --json               Print {object: "signed_url", attributes: {url}}
  -h, --help               Show this help`;

const OPTIONS = {
  ...TARGET_OPTIONS,
  expires: { type: "string" },
  "base-url": { type: "string" },
} as const;

/** `strongbox download-url <uuid> --storage URL --server ID`. */
export const command: Command = {
  usage: USAGE,
  async run(args, context) {
    const { values, positionals } = parseCommandArgs("download-url", args, OPTIONS);
    const [uuid] = expectPositionals("download-url", positionals, ["uuid"]);
    const target = requireTarget("download-url", values);
    const expiresIn = parseWholeNumber("download-url", "expires", values.expires);
    const downloads = localDownloads(
      target,
      context.cwd,
      values["base-url"] ?? process.env.STRONGBOX_BASE_URL,
    );
    const url = await withManager(target, context, downloads ? { downloads } : {}, (manager) =>
      manager.downloadUrl(target.server, uuid!, expiresIn === undefined ? {} : { expiresIn }),
    );
    const output = createOutput(context, { json: values.json ?? false });
    await output.result({ object: "signed_url", attributes: { url } }, url);
  },
};

/** Signing settings when the storage is a local folder; S3 needs none (its links are presigned). */
function localDownloads(
  target: Target,
  cwd: string,
  baseUrl: string | undefined,
): LocalDownloadOptions | undefined {
  if (parseStorageUrl(target.storage, cwd).kind !== "local") return undefined;
  const secret = process.env.STRONGBOX_DOWNLOAD_SECRET;
  const missing = [
    ...(secret ? [] : ["STRONGBOX_DOWNLOAD_SECRET (at least 32 bytes, e.g. from `openssl rand -hex 32`)"]),
    ...(baseUrl ? [] : ["--base-url or STRONGBOX_BASE_URL (where `strongbox serve` answers)"]),
  ];
  if (missing.length > 0 || !secret || !baseUrl) {
    throw new StrongboxError(
      "INVALID_INPUT",
      `Local-disk download links are signed and served by strongbox serve: set ${missing.join(" and ")}.`,
    );
  }
  return { secret, baseUrl };
}

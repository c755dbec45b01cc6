import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * How much of a body the API reads and throws away after answering early (a 413, a 401 to an upload):
 * enough that a client still sending sees the answer instead of a broken pipe, bounded so that nobody
 * can keep a connection busy for ever. Past it the connection is cut.
 */
export const MAX_DISCARDED_BODY_BYTES = 256 * 1024 * 1024;

/**
 * Answers `status` with `body` as JSON (no body: nothing). When the request body has not been read to its
 * end, the answer says `Connection: close`, is written at once, and ends only once the rest of the body has
 * been read and thrown away: closing with unread bytes would reset the connection and lose the answer, and
 * leaving them would make them the start of the next request on a keep-alive connection.
 */
export function respond(
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  body?: unknown,
  headers: Record<string, string> = {},
): void {
  const text = body === undefined ? "" : JSON.stringify(body);
  const early = !request.complete;
  response.writeHead(status, {
    "cache-control": "no-store",
    ...(body !== undefined && {
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(text)),
    }),
    ...(early && { connection: "close" }),
    ...headers,
  });
  if (!early) {
    response.end(text);
    return;
  }
  response.write(text);
  void discardBody(request, MAX_DISCARDED_BODY_BYTES).then((whole) => {
    if (whole) response.end();
    else response.destroy();
  });
}

/** Reads the rest of a body into nothing; `false` when it was cut off or ran past `limit` bytes. */
function discardBody(request: IncomingMessage, limit: number): Promise<boolean> {
  return new Promise((resolve) => {
    let seen = 0;
    const settle = (whole: boolean) => {
      request.off("data", onData).off("end", onEnd).off("close", onClose);
      resolve(whole);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > limit) settle(false);
    };
    const onEnd = () => settle(true);
    const onClose = () => settle(request.complete);
    request.on("data", onData).on("end", onEnd).on("close", onClose);
    request.resume();
  });
}

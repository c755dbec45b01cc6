import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * How much of a body the API reads and throws away before answering early (a 413, a 401 to an upload):
 * enough that a client still sending gets the answer, and its next request on the connection too, bounded
 * so that nobody can keep the server reading for ever. Past it the answer says `Connection: close`.
 */
export const MAX_DISCARDED_BODY_BYTES = 256 * 1024 * 1024;

/**
 * Answers `status` with `body` as JSON (no body: nothing). A request whose body has not been read to its
 * end (answered before or while reading it) first has the rest read and thrown away: closing with unread
 * bytes resets the connection and loses the answer while the client still sends (EPIPE), and leaving them
 * makes them the start of the next request on a keep-alive connection, which then never gets an answer.
 * Past `discardLimit` bytes it stops reading and answers with `Connection: close`.
 */
export function respond(
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  body?: unknown,
  headers: Record<string, string> = {},
  discardLimit = MAX_DISCARDED_BODY_BYTES,
): void {
  if (request.complete) {
    writeAnswer(response, status, body, headers);
    return;
  }
  void discardBody(request, discardLimit).then((whole) =>
    writeAnswer(response, status, body, whole ? headers : { ...headers, connection: "close" }),
  );
}

function writeAnswer(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string>,
): void {
  if (response.destroyed) return;
  const text = body === undefined ? undefined : JSON.stringify(body);
  response
    .writeHead(status, {
      "cache-control": "no-store",
      ...(text !== undefined && {
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(text)),
      }),
      ...headers,
    })
    .end(text);
}

/** Reads the rest of a body into nothing; `false` when it was cut off or ran past `limit` bytes. */
function discardBody(request: IncomingMessage, limit: number): Promise<boolean> {
  if (request.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    let seen = 0;
    const settle = (whole: boolean) => {
      request.off("data", onData).off("end", onEnd).off("close", onClose);
      if (!whole) request.pause();
      resolve(whole);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > limit) settle(false);
    };
    const onEnd = () => settle(true);
    const onClose = () => settle(false);
    request.on("data", onData).on("end", onEnd).on("close", onClose);
    request.resume();
  });
}

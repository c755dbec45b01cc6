import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { s3ErrorXml } from "./s3rver.js";

/** What the proxy saw of one request. */
export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/bucket/key`. */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
}

/**
 * `error500`: the body is read, then S3's InternalError comes back. `cut`: the connection is destroyed
 * once the first bytes of the body have arrived. A {@link CannedAnswer}: the body is read, then it comes back.
 */
export type FaultAction = "error500" | "cut" | CannedAnswer;

/** An answer the proxy gives instead of S3's: a status and an XML body (see `s3ErrorXml` for errors). */
export interface CannedAnswer {
  status: number;
  body: string;
}

const INTERNAL_ERROR: CannedAnswer = {
  status: 500,
  body: s3ErrorXml("InternalError", "We encountered an internal error. Please try again."),
};

/** Injects `action` into requests that `match`, at most `times` times (every time by default). */
export interface FaultRule {
  match: (request: RecordedRequest) => boolean;
  action: FaultAction;
  times?: number;
}

/** A loopback HTTP proxy in front of an S3 endpoint that records requests and injects faults. */
export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: give this to the client instead of the real endpoint. */
  endpoint: string;
  /** Every request received, in arrival order, faulty or not. */
  readonly requests: RecordedRequest[];
  addFault(rule: FaultRule): void;
  /** The most requests that `match` were ever being answered at once. */
  peakInFlight(match: (request: RecordedRequest) => boolean): number;
  stop(): Promise<void>;
}

/** Matches UploadPart requests, of one part number when given. */
export function isUploadPart(partNumber?: number): (request: RecordedRequest) => boolean {
  return (r) =>
    r.method === "PUT" &&
    r.query.uploadId !== undefined &&
    (partNumber === undefined || r.query.partNumber === String(partNumber));
}

/** True for AbortMultipartUpload (`DELETE ?uploadId=`). */
export function isAbortMultipartUpload(request: RecordedRequest): boolean {
  return request.method === "DELETE" && request.query.uploadId !== undefined;
}

/** True for CreateMultipartUpload (`POST ?uploads`). */
export function isCreateMultipartUpload(request: RecordedRequest): boolean {
  return request.method === "POST" && request.query.uploads !== undefined;
}

/** Starts the proxy on a free loopback port, forwarding to `target` (an `http://` origin). */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const requests: RecordedRequest[] = [];
  const rules: { rule: FaultRule; left: number }[] = [];
  /**
   * Each request on arrival (+1) and as its answer starts (-1), in order: the client cannot have seen the
   * answer, and so cannot have sent a request it was waiting for, before the -1.
   */
  const timeline: { request: RecordedRequest; change: 1 | -1 }[] = [];

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", target);
    const recorded = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
    };
    requests.push(recorded);
    timeline.push({ request: recorded, change: 1 });
    let answering = false;
    const answer = () => {
      if (!answering) timeline.push({ request: recorded, change: -1 });
      answering = true;
    };
    res.once("close", answer);
    const fault = rules.find((f) => f.left > 0 && f.rule.match(recorded));
    if (fault === undefined) return forward(req, res, url, answer);
    fault.left -= 1;
    if (fault.rule.action === "cut") {
      req.once("data", () => {
        answer();
        req.socket.destroy();
      });
    } else
      void answerCanned(
        req,
        res,
        answer,
        fault.rule.action === "error500" ? INTERNAL_ERROR : fault.rule.action,
      );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    addFault: (rule) => rules.push({ rule, left: rule.times ?? Number.POSITIVE_INFINITY }),
    peakInFlight(match) {
      let now = 0;
      let peak = 0;
      for (const event of timeline) {
        if (!match(event.request)) continue;
        now += event.change;
        peak = Math.max(peak, now);
      }
      return peak;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function forward(req: IncomingMessage, res: ServerResponse, url: URL, answer: () => void): void {
  const upstream = request(url, { method: req.method, headers: { ...req.headers, host: url.host } }, (up) => {
    answer();
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
  });
  upstream.on("error", () => res.destroy());
  req.pipe(upstream);
}

async function answerCanned(
  req: IncomingMessage,
  res: ServerResponse,
  answer: () => void,
  { status, body }: CannedAnswer,
): Promise<void> {
  // Read the body first: answering mid-upload would look like a cut connection, not a server error.
  for await (const _ of req);
  answer();
  res.writeHead(status, { "content-type": "application/xml" });
  res.end(body);
}

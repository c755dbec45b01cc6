/** The path and query of a request, as sent. */
export interface RequestTarget {
  /** The path exactly as sent: not percent-decoded, `.` and `..` segments not resolved. */
  path: string;
  query: URLSearchParams;
}

/**
 * Splits `request.url` without normalizing it. `new URL()` would resolve `/a/../b` to `/b` and so let one
 * route's path reach another; routes here match the raw path, whose id segments allow no `.`, `%` or `/`.
 */
export function requestTarget(url: string | undefined): RequestTarget {
  let raw = url ?? "/";
  // Absolute form (`GET http://host/path`), as sent through some proxies.
  if (!raw.startsWith("/")) raw = raw.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, "") || "/";
  const hash = raw.indexOf("#");
  if (hash !== -1) raw = raw.slice(0, hash);
  const question = raw.indexOf("?");
  return question === -1
    ? { path: raw, query: new URLSearchParams() }
    : { path: raw.slice(0, question), query: new URLSearchParams(raw.slice(question + 1)) };
}

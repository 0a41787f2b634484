/**
 * One error class for everything the native core reports.
 *
 * @module
 */

/** Linux errno numbers LSIO reports, with their names and descriptions. */
const ERRNO: Record<number, [string, string]> = {
  1: ["EPERM", "Operation not permitted"],
  2: ["ENOENT", "No such file or directory"],
  4: ["EINTR", "Interrupted system call"],
  5: ["EIO", "Input/output error"],
  6: ["ENXIO", "No such device or address"],
  9: ["EBADF", "Bad file descriptor"],
  11: ["EAGAIN", "Resource temporarily unavailable"],
  12: ["ENOMEM", "Out of memory"],
  13: ["EACCES", "Permission denied"],
  14: ["EFAULT", "Bad address"],
  16: ["EBUSY", "Device or resource busy"],
  19: ["ENODEV", "No such device"],
  17: ["EEXIST", "File exists"],
  20: ["ENOTDIR", "Not a directory"],
  21: ["EISDIR", "Is a directory"],
  22: ["EINVAL", "Invalid argument"],
  23: ["ENFILE", "Too many open files in system"],
  24: ["EMFILE", "Too many open files"],
  27: ["EFBIG", "File too large"],
  34: ["ERANGE", "Byte range lies outside the file"],
  36: ["ENAMETOOLONG", "File name too long"],
  38: ["ENOSYS", "Function not implemented"],
  40: ["ELOOP", "Too many levels of symbolic links"],
  61: ["ENODATA", "File ended before the range was read (it shrank after its size was taken)"],
  71: ["EPROTO", "TLS or protocol error"],
  79: [
    "ELIBACC",
    "libcurl could not be loaded (remote paths need libcurl.so.4: install libcurl4, e.g. apt-get install libcurl4)",
  ],
  80: ["ELIBBAD", "libcurl.so.4 lacks functions LSIO needs (a libcurl older than 7.66)"],
  74: ["EBADMSG", "Chunk does not decode (corrupt compressed data)"],
  75: ["EOVERFLOW", "Value too large for defined data type"],
  90: ["EMSGSIZE", "Chunk has the wrong size for its shape"],
  93: ["EPROTONOSUPPORT", "Remote objects are not supported on this platform yet"],
  95: ["EOPNOTSUPP", "Operation not supported"],
  105: ["ENOBUFS", "Destination is smaller than the range"],
  104: ["ECONNRESET", "Connection reset by peer"],
  110: ["ETIMEDOUT", "Connection timed out"],
  111: ["ECONNREFUSED", "Connection refused"],
  113: ["EHOSTUNREACH", "Host unreachable (or its name did not resolve)"],
  125: ["ECANCELED", "Read cancelled"],
};

/**
 * The errno name for a (positive or negative) errno number.
 *
 * @example
 * ```ts
 * import { errnoName } from "./errors.ts";
 * console.log(errnoName(-2), errnoName(34)); // ENOENT ERANGE
 * ```
 */
export function errnoName(errno: number): string {
  return ERRNO[Math.abs(errno)]?.[0] ?? `E${Math.abs(errno)}`;
}

/** A byte range as the caller asked for it (negative: from the end; `end` undefined: to EOF). */
export interface ByteRange {
  /** First byte, negative counts from the end. */
  start: number;
  /** One past the last byte, negative counts from the end; undefined reads to EOF. */
  end?: number;
}

/** What a {@linkcode LsioError} is about. */
export interface LsioErrorOptions {
  /** The file concerned. */
  path?: string;
  /** The range concerned. */
  range?: ByteRange;
  /** The operation, for the message ("read", "open reader", …). */
  op?: string;
  /** Remote objects: the HTTP status (0: no response) and the server's error code or the client's error text. */
  remote?: { httpStatus: number; code: string };
}

function describeRange(r: ByteRange): string {
  return `bytes ${r.start}..${r.end ?? "EOF"}`;
}

/**
 * An error from the native core. `code` is the errno name (`"ENOENT"`),
 * `errno` the positive number, `path` and `range` say which chunk failed.
 *
 * @example
 * ```ts
 * import { LsioError } from "./errors.ts";
 * const e = new LsioError(-2, { path: "/nope", range: { start: 0, end: 10 } });
 * console.log(e.code, e.message); // ENOENT No such file or directory: /nope, bytes 0..10
 * ```
 */
export class LsioError extends Error {
  /** The errno name, e.g. `"ENOENT"`. */
  readonly code: string;
  /** The positive errno number. */
  readonly errno: number;
  /** The file concerned, when there is one. */
  readonly path?: string;
  /** The byte range concerned, as requested. */
  readonly range?: ByteRange;
  /** Remote objects: the HTTP status of the failed request, when there was a response. */
  readonly httpStatus?: number;
  /** Remote objects: the server's error code (S3's `SlowDown`, `NoSuchKey`, …) or libcurl's error text. */
  readonly remoteCode?: string;

  /** Builds the error from a native result (`-errno` or `errno`). */
  constructor(errno: number, options: LsioErrorOptions = {}) {
    const n = Math.abs(errno);
    const desc = ERRNO[n]?.[1] ?? `Error ${n}`;
    const where = [options.path, options.range ? describeRange(options.range) : undefined]
      .filter(Boolean).join(", ");
    const remote = options.remote;
    const why = remote
      ? remote.httpStatus ? `HTTP ${remote.httpStatus}${remote.code ? ` ${remote.code}` : ""}` : remote.code
      : "";
    const notes = [options.op, why].filter(Boolean).join("; ");
    const head = notes ? `${desc} (${notes})` : desc;
    super(where ? `${head}: ${where}` : head);
    this.name = "LsioError";
    this.code = errnoName(n);
    this.errno = n;
    if (remote?.httpStatus) this.httpStatus = remote.httpStatus;
    if (remote?.code) this.remoteCode = remote.code;
    if (options.path !== undefined) this.path = options.path;
    if (options.range !== undefined) this.range = options.range;
  }
}

/** errno numbers of the names node:fs errors carry (Linux numbering, as the native core reports). */
const ERRNO_BY_NAME: Record<string, number> = Object.fromEntries(
  Object.entries(ERRNO).map(([n, [name]]) => [name, Number(n)]),
);

/**
 * A node:fs error (`{ code: "ENOENT" }`) as an {@linkcode LsioError} naming
 * `path`; an LsioError or an error without an errno code is returned as is.
 */
export function fsError(e: unknown, path: string, op?: string): Error {
  if (e instanceof LsioError) return e;
  const code = (e as { code?: unknown })?.code;
  const errno = typeof code === "string" ? ERRNO_BY_NAME[code] : undefined;
  if (errno === undefined) return e instanceof Error ? e : new Error(String(e));
  return new LsioError(errno, { path, ...(op ? { op } : {}) });
}

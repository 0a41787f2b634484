// The LsioError of a failed request: its errno with the path and range asked
// for, and what a remote server said (HTTP status, error code), when known.
import type { NativeBatch } from "./_batch.ts";
import { type ByteRange, LsioError } from "./errors.ts";
import type { ReadRequest } from "./reader.ts";

const EINVAL = 22;

/** The error of request `r` (request i of `batch`), with the range as the caller gave it. */
export function errorFor(r: ReadRequest, status: number, batch?: NativeBatch, i = 0): LsioError {
  const range: ByteRange = { start: r.start ?? 0 };
  if (r.end !== undefined) range.end = r.end;
  const remote = batch?.remoteDetail(i);
  return new LsioError(status, { path: r.path, range, ...(remote ? { remote } : {}) });
}

/**
 * The error of request i of a batch: with its path, or — when its file index
 * lies outside the batch's paths — saying so.
 */
export function requestError(batch: NativeBatch, i: number, status: number, range: ByteRange): LsioError {
  const f = batch.file[i], files = batch.paths.length;
  if (status === -EINVAL && f >= files) {
    return new LsioError(status, {
      op: `file index ${f} outside paths, which has ${files} path${files === 1 ? "" : "s"}`,
      range,
    });
  }
  const remote = batch.remoteDetail(i);
  return new LsioError(status, { path: batch.paths[f], range, ...(remote ? { remote } : {}) });
}

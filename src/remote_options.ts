/**
 * Settings for remote objects (`http://`, `https://` and `s3://` paths) that
 * a {@linkcode Reader} or a {@linkcode WorkerPool} (each worker) applies: how
 * many transfers run at once and how failures are retried. Each `undefined`
 * takes the native default.
 *
 * @module
 */
import process from "node:process";
import { checkKeys, describe, intOption } from "./_strict.ts";

/**
 * Remote-object settings ({@linkcode ReaderOptions.remote}, {@linkcode WorkerPoolOptions.remote}).
 * The bounds hold per batch running: a reader runs up to two batches of remote
 * objects at once (two native threads, each with its own connections). A batch
 * of at least `inflight` ranges (64 when unset) or planned reads is itself read by two
 * native threads, each with half its transfers and half its connections per
 * host: one thread of libcurl is the limit on a fast network.
 */
export interface RemoteOptions {
  /**
   * HTTP transfers in flight at once, each on its own keep-alive connection. Unset (the default): at
   * most 256, small GETs starting at 64 and doubling while a doubling adds 25 % to the batch's
   * bytes/s over 50 ms and the native thread waits more than it works (a store with a long round
   * trip gets the hundreds in flight that hide it; on a near one more only cost CPU). Set: exactly this many for small GETs. Large transfers (a batch whose ranges
   * or planned reads average 1 MiB or more) are paced under it: they start at 4 per native thread and
   * double while doubling still adds 10 % to the batch's bytes/s (a store that limits each connection
   * gets many, a link a few already fill keeps few); the level settled on holds for the batches of
   * the next 10 s, which cut their large reads into no more pieces than it keeps in flight.
   */
  inflight?: number;
  /** Connections to one host at most (default: `inflight`, or 256 when unset); more transfers to it wait their turn. */
  connections?: number;
  /** Retries of a chunk after a 429, 5xx, reset or truncated body (default 5; 0: none). */
  retries?: number;
  /** A transfer moving under 1 byte/s this long fails with `ETIMEDOUT` (default 30000 ms). */
  stallMs?: number;
  /** No retry of a chunk starts later than this after its first try (default 30000 ms). */
  retryMs?: number;
  /**
   * A PEM file of the certificate authorities `https://` transfers trust
   * instead of the system's (a private CA; a test server's certificate).
   * Default: the `AWS_CA_BUNDLE` environment variable, else `CURL_CA_BUNDLE`,
   * else the system's CAs. Checked when the reader opens: a file that cannot
   * be read is an {@linkcode LsioError} naming it.
   */
  caFile?: string;
}

const KEYS = ["inflight", "connections", "retries", "stallMs", "retryMs", "caFile"] as const;

/** Words 6..10 of lsio_reader_opts (remote_inflight … remote_retry_ms) from the options, checked. */
export function remoteWords(remote: RemoteOptions | undefined, opts: Uint32Array): void {
  if (remote === undefined) return;
  if (remote === null || typeof remote !== "object") throw new TypeError(`remote options are an object`);
  checkKeys(remote, KEYS, "remote options");
  opts[6] = intOption(remote.inflight, "remote.inflight", 1, 65536) ?? 0;
  opts[7] = intOption(remote.connections, "remote.connections", 1, 65536) ?? 0;
  const retries = intOption(remote.retries, "remote.retries", 0, 1000);
  opts[8] = retries === undefined ? 0 : retries + 1; // C: retries + 1, 0 the default
  opts[9] = intOption(remote.stallMs, "remote.stallMs", 1000, 2 ** 31) ?? 0;
  opts[10] = intOption(remote.retryMs, "remote.retryMs", 0, 2 ** 31) ?? 0;
  caFileOf(remote);
}

/**
 * The CA bundle in force and where it came from: `remote.caFile`, else the
 * `AWS_CA_BUNDLE` or `CURL_CA_BUNDLE` environment variable (options beat
 * environment, as for S3); undefined: the system's CAs.
 */
export function resolveCaFile(remote: RemoteOptions | undefined): { file: string; from: string } | undefined {
  const given = caFileOf(remote);
  if (given !== undefined) return { file: given, from: "remote.caFile" };
  for (const name of ["AWS_CA_BUNDLE", "CURL_CA_BUNDLE"]) {
    let v: string | undefined;
    try {
      v = process.env[name] || undefined;
    } catch { /* Deno without --allow-env */ }
    if (v !== undefined) return { file: v, from: name };
  }
  return undefined;
}

/** `remote.caFile`, checked: a non-empty path without NUL bytes, or undefined. */
export function caFileOf(remote: RemoteOptions | undefined): string | undefined {
  const f = remote?.caFile;
  if (f !== undefined && (typeof f !== "string" || f.length === 0 || f.includes("\0"))) {
    throw new TypeError(`remote.caFile is a non-empty path without NUL bytes, got ${describe(f)}`);
  }
  return f;
}

// The storage seam on the TypeScript side: everything a path's storage
// changes above the native core, in one place. Request checks, columns, the
// planner's units and the scatter into destinations, delivery, progress,
// cancellation and stats are storage-neutral; what differs is below. The
// native core has the same seam (resolve.c and plan.c shared; uring.c/pool.c
// read files, http.c/s3.c read objects).
//
// Two storages: local files (a path the kernel opens) and remote objects
// (http://, https://, s3://: read over HTTP by the native core's libcurl).
import * as path from "node:path";
import type { ProfileName } from "./profiles.ts"; // types only: pool workers load this module

/** How one storage differs. */
export interface Storage {
  readonly kind: "local" | "remote";
  /**
   * The planner profile of every path on it, known without looking; undefined:
   * detect it from the device (sysfs). A storage with a known profile also
   * plans by it where local files keep the cheap in-order merging: ShardedArray's
   * chunk reads and the worker pool's tasks merge across its gaps, since over
   * the network a request costs far more than the bytes between chunks
   * (zarr-crops over nginx, quick: 2.6–2.8 k → 6.3–7.2 k crops/s; bench/README.md).
   */
  readonly profile: ProfileName | undefined;
  /** The native core describes a failed chunk (HTTP status, the server's code) in a record per chunk. */
  readonly describesFailures: boolean;
  /** Batches of it may run on the reader's synchronous hot path (remote transfers never do). */
  readonly hotPath: boolean;
  /** A store or array root as LSIO reads under it: an absolute path, or the URL without trailing slashes. */
  root(where: string): string;
  /** `key` ("a/b" or "/a/b") under a root (remote: joined with "/", nothing resolved). */
  under(root: string, key: string): string;
  /** A root is checked to be a folder before the first read (an object store's prefix is no folder). */
  readonly hasFolders: boolean;
}

/** Files the kernel opens. */
export const LOCAL_FILES: Storage = Object.freeze({
  kind: "local",
  profile: undefined,
  describesFailures: false,
  hotPath: true,
  root: (where: string) => path.resolve(where),
  under: (root: string, key: string) => path.join(root, key),
  hasFolders: true,
});

/** Objects behind a URL: HTTP(S) servers and S3-compatible stores. */
export const REMOTE_OBJECTS: Storage = Object.freeze({
  kind: "remote",
  profile: "cloud",
  describesFailures: true,
  hotPath: false,
  root: (where: string) => where.replace(/\/+$/, ""),
  under: (root: string, key: string) => `${root}/${key.replace(/^\/+/, "")}`,
  hasFolders: false,
});

/** A remote object's URL (read over HTTP by the native core) rather than a local path. */
export function isRemotePath(p: string): boolean {
  return p.startsWith("https://") || p.startsWith("http://") || p.startsWith("s3://");
}

/** The storage `p` lives on. */
export function storageOf(p: string): Storage {
  return isRemotePath(p) ? REMOTE_OBJECTS : LOCAL_FILES;
}

/**
 * The storage a batch of paths is read as: remote when any path is (one
 * batch may mix them; the native core reads each file from its own storage,
 * and what the batch does above it — no hot path, failure records, merged
 * tasks — must hold for its remote files).
 */
export function batchStorage(paths: readonly string[]): Storage {
  return paths.some(isRemotePath) ? REMOTE_OBJECTS : LOCAL_FILES;
}

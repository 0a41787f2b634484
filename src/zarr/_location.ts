// Where a Zarr array or store lives: a local folder (resolved, joined with
// node:path) or a remote prefix (http://, https://, s3://: joined with "/",
// nothing resolved, nothing stat'ed — a prefix of an object store is no
// folder). Each storage says how (src/_storage.ts).
import { storageOf } from "../_storage.ts";

/** The root as LSIO reads under it: an absolute local path, or the URL without trailing slashes. */
export function rootOf(where: string): string {
  return storageOf(where).root(where);
}

/** `key` ("a/b" or "/a/b") under `root`. */
export function under(root: string, key: string): string {
  return storageOf(root).under(root, key);
}

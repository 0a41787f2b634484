// Where a Zarr array or store lives: a local folder (resolved, joined with
// node:path) or a remote prefix (http://, https://, s3://: joined with "/",
// nothing resolved, nothing stat'ed — a prefix of an object store is no folder).
import * as path from "node:path";
import { isRemotePath } from "../_paths.ts";

/** The root as LSIO reads under it: an absolute local path, or the URL without trailing slashes. */
export function rootOf(where: string): string {
  return isRemotePath(where) ? where.replace(/\/+$/, "") : path.resolve(where);
}

/** `key` ("a/b" or "/a/b") under `root`. */
export function under(root: string, key: string): string {
  if (!isRemotePath(root)) return path.join(root, key);
  return `${root}/${key.replace(/^\/+/, "")}`;
}

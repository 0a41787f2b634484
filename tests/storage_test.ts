// The TypeScript side of the storage seam (src/_storage.ts): which storage a
// path and a batch are read as, and what each does differently — where a
// root lives and how keys join under it, the planner profile it brings, the
// hot path and failure records.
import * as path from "node:path";
import { batchStorage, isRemotePath, LOCAL_FILES, REMOTE_OBJECTS, storageOf } from "../src/_storage.ts";
import { rootOf, under } from "../src/zarr/_location.ts";
import { assertEquals } from "./_assert.ts";
import { test } from "./_shim.ts";

test("storage: a path's storage by its scheme (http, https, s3 remote; anything else a local file)", () => {
  for (const p of ["http://h/a", "https://h/a", "s3://bucket/key"]) assertEquals(storageOf(p), REMOTE_OBJECTS, p);
  for (const p of ["/data/a", "rel/a", "file.bin", "s3:/not-a-url", "HTTP-data/x", "ftp://h/a"]) {
    assertEquals(storageOf(p), LOCAL_FILES, p);
    assertEquals(isRemotePath(p), false, p);
  }
});

test("storage: a batch is remote when any of its paths is; remote batches skip the hot path and get failure records", () => {
  assertEquals(batchStorage(["/a", "/b"]), LOCAL_FILES);
  assertEquals(batchStorage(["/a", "http://h/b"]), REMOTE_OBJECTS);
  assertEquals(batchStorage([]), LOCAL_FILES);
  assertEquals([LOCAL_FILES.hotPath, REMOTE_OBJECTS.hotPath], [true, false]);
  assertEquals([LOCAL_FILES.describesFailures, REMOTE_OBJECTS.describesFailures], [false, true]);
  assertEquals([LOCAL_FILES.profile, REMOTE_OBJECTS.profile], [undefined, "cloud"]);
});

test("storage: roots and keys — local paths resolved and joined by node:path, URLs joined with one slash", () => {
  assertEquals(rootOf("rel/dir/"), path.resolve("rel/dir"));
  assertEquals(under("/data/a.zarr", "c/0/1"), "/data/a.zarr/c/0/1");
  assertEquals(rootOf("https://h/x.zarr///"), "https://h/x.zarr");
  assertEquals(under("s3://b/x.zarr", "/zarr.json"), "s3://b/x.zarr/zarr.json");
  assertEquals(under("https://h/x.zarr", "c/0"), "https://h/x.zarr/c/0");
  assertEquals([LOCAL_FILES.hasFolders, REMOTE_OBJECTS.hasFolders], [true, false]);
});

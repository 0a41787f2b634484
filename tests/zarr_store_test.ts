// LsioStore: every array zarr-python wrote into the shared fixtures reads the
// same through zarrita + LsioStore as through zarrita + its own
// FileSystemStore; concurrent reads are one batch; bad keys are refused; over
// HTTP a shard's chunks asked for in one turn are merged into one GET.
import * as fs from "node:fs";
import * as path from "node:path";
import * as zarr from "zarrita";
import FileSystemStore from "@zarrita/storage/fs";
import { LsioStore, writeShardedArray } from "../zarr.ts";
import { rangeServer } from "./_range_server.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./_assert.ts";
import { removeDir, tempDir } from "./_helpers.ts";
import { env, test } from "./_shim.ts";

const FIXTURES = env("LSIO_ZARR_FIXTURES") ?? new URL("./fixtures/zarr-python-v3/data.zarr", import.meta.url).pathname;

/** Every array (a zarr.json with node_type "array") under the fixtures, as store keys. */
function arrays(): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const dir = path.join(FIXTURES, rel);
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const sub = rel ? `${rel}/${e.name}` : e.name;
      const meta = path.join(FIXTURES, sub, "zarr.json");
      if (fs.existsSync(meta) && JSON.parse(fs.readFileSync(meta, "utf8")).node_type === "array") out.push(sub);
      else walk(sub);
    }
  };
  walk("");
  return out.sort();
}

/** Plain values for comparison: typed arrays, zarrita's bool/string arrays, bigints. */
function plain(data: unknown): unknown {
  if (data && typeof data === "object" && Symbol.iterator in data) {
    return Array.from(
      data as Iterable<unknown>,
      (v) => (typeof v === "bigint" ? `${v}n` : Number.isNaN(v) ? "NaN" : v),
    );
  }
  return data;
}

test("zarr: every zarr-python fixture array reads the same through LsioStore and FileSystemStore", async () => {
  const list = arrays();
  assert(list.length >= 40, `found ${list.length} fixture arrays`);
  const fsStore = new FileSystemStore(FIXTURES);
  await using store = await LsioStore.open(FIXTURES);
  let sharded = 0;
  for (const name of list) {
    const key = `/${name}` as const;
    const want = await zarr.get(await zarr.open(zarr.root(fsStore).resolve(key), { kind: "array" }));
    const arr = await zarr.open(zarr.root(store).resolve(key), { kind: "array" });
    const got = await zarr.get(arr);
    assertEquals(got.shape, want.shape, name);
    assertEquals(plain(got.data), plain(want.data), name);
    if (name.includes("sharded")) sharded++;
  }
  assert(sharded >= 10, `${sharded} sharded arrays among them`);
});

test("zarr: LsioStore gathers the reads of one turn into one batch", async () => {
  await using store = await LsioStore.open(FIXTURES);
  const before = store.stats.batches;
  const keys = arrays().map((a) => `/${a}/zarr.json` as const);
  const values = await Promise.all(keys.map((k) => store.get(k)));
  assert(values.every((v) => v instanceof Uint8Array && v.length > 0));
  assertEquals(store.stats.batches - before, 1);
  // Ranges: offset/length and suffix, against the bytes of the whole value.
  const whole = (await store.get("/1d.contiguous.i4/zarr.json"))!;
  const [mid, tail] = await Promise.all([
    store.getRange("/1d.contiguous.i4/zarr.json", { offset: 3, length: 10 }),
    store.getRange("/1d.contiguous.i4/zarr.json", { suffixLength: 7 }),
  ]);
  assertEquals(Array.from(mid!), Array.from(whole.subarray(3, 13)));
  assertEquals(Array.from(tail!), Array.from(whole.subarray(whole.length - 7)));
});

test("zarr: missing keys are undefined; keys outside the root are refused, never read", async () => {
  const dir = tempDir("lsio-zarr-store-");
  fs.writeFileSync(path.join(dir, "secret"), "outside");
  fs.mkdirSync(path.join(dir, "root"));
  fs.writeFileSync(path.join(dir, "root", "inside"), "inside");
  await using store = await LsioStore.open(path.join(dir, "root"));
  assertEquals(await store.get("/nope"), undefined);
  assertEquals(await store.get("/nope/deeper/still"), undefined);
  assertEquals(await store.getRange("/nope", { offset: 0, length: 4 }), undefined);
  assertEquals(new TextDecoder().decode(await store.get("/inside")), "inside");
  assertThrows(() => store.get("/../secret"), TypeError, "leaves the store root");
  assertThrows(() => store.get("/a/../../secret"), TypeError, "leaves the store root");
  assertThrows(() => store.get("/inside\0x" as "/x"), TypeError, "NUL");
  assertThrows(() => store.get("inside" as "/x"), TypeError, "absolute path");
  assertThrows(() => store.getRange("/inside", { offset: -1, length: 2 }), RangeError);
  // A range past the end is an error naming the file, not silently short.
  const e = await assertRejects(() => store.getRange("/inside", { offset: 2, length: 100 }));
  assert(String(e).includes("inside"), String(e));
  removeDir(dir);
});

test("zarr: LsioStore over HTTP merges a shard's chunk ranges of one turn into fewer GETs (cloud profile)", async () => {
  const dir = tempDir("lsio-zarr-store-http-");
  const shape = [64, 64];
  const data = Uint16Array.from({ length: 64 * 64 }, (_, i) => (i * 2654435761) >>> 16);
  await writeShardedArray(path.join(dir, "a.zarr"), data, {
    shape,
    dtype: "uint16",
    shardShape: [32, 32],
    chunkShape: [8, 8],
    codecs: "raw",
  });
  const server = await rangeServer(dir);
  try {
    // A column of chunks: four chunks of one shard, not adjacent in it (row-major: three chunks between each).
    const sel = [zarr.slice(0, 32), zarr.slice(0, 8)];
    const want: number[] = [];
    for (let y = 0; y < 32; y++) want.push(...data.subarray(y * 64, y * 64 + 8));
    const getsOf = async (readerOptions?: { plan: "ordered" }) => {
      await using store = await LsioStore.open(server.url + "a.zarr", { readerOptions });
      const arr = await zarr.open.v3(zarr.root(store).resolve("/"), { kind: "array" });
      await zarr.get(arr, [zarr.slice(32, 40), zarr.slice(32, 40)]); // metadata and another shard's index: read before
      const gets = server.gets;
      const got = await zarr.get(arr, sel);
      assertEquals(Array.from(got.data as Uint16Array), want);
      return server.gets - gets;
    };
    const ordered = await getsOf({ plan: "ordered" });
    const cloud = await getsOf();
    // ordered: the shard index, then one GET per chunk; cloud: the index, then the four chunks in one GET.
    assertEquals(ordered, 1 + 4, `in-order merging only: ${ordered} GETs`);
    assertEquals(cloud, 1 + 1, `the cloud profile: ${cloud} GETs`);
  } finally {
    await server.close();
    removeDir(dir);
  }
});

// The RAM cache of byte ranges (issue 14): a range held makes no I/O (local
// reads issue nothing, remote ones send no request — counted by a server in
// this process), bytes always equal the object's, a local file that changed
// misses, concurrent readers of one range read it once, the budget holds, and
// readers, pools, stores and arrays share one cache. Strict options.
import * as fs from "node:fs";
import * as path from "node:path";
import { Buffer } from "node:buffer";
import { Cache, LsioError, Reader, WorkerPool } from "../mod.ts";
import { LsioStore, ShardedArray, writeShardedArray } from "../zarr.ts";
import * as zarr from "zarrita";
import { assert, assertEquals, assertRejects, assertThrows } from "./_assert.ts";
import { randInt, removeDir, rng, tempDir, writeRandomFile } from "./_helpers.ts";
import { test } from "./_shim.ts";
import { rangeServer } from "./_range_server.ts";

const dir = tempDir("lsio-cache-");
const files = Array.from({ length: 4 }, (_, i) => writeRandomFile(dir, `f${i}`, 300_000 + i * 7, 99 + i));
const contents = files.map((f) => fs.readFileSync(f));

function randomRanges(seed: number, n: number, paths: string[]) {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    const f = randInt(r, 0, paths.length - 1);
    const start = randInt(r, 0, contents[f].length - 1);
    return { path: paths[f], start, end: Math.min(contents[f].length, start + randInt(r, 1, 9000)), f };
  });
}

function assertBytes(got: (Uint8Array | LsioError)[], reqs: { f: number; start: number; end: number }[]) {
  got.forEach((g, i) => {
    if (g instanceof LsioError) throw g;
    const want = contents[reqs[i].f].subarray(reqs[i].start, reqs[i].end);
    if (!Buffer.from(g).equals(want)) throw new Error(`request ${i}: bytes differ`);
  });
}

const plain = (reqs: { path: string; start: number; end: number }[]) =>
  reqs.map(({ path, start, end }) => ({ path, start, end }));

/** Reads `reqs` as columns: the bytes of each, and the batch's reads issued. */
async function readCounted(reader: Reader, reqs: { path: string; start: number; end: number }[]) {
  const paths = [...new Set(reqs.map((q) => q.path))];
  const res = await reader.readColumnar({
    paths,
    file: Uint32Array.from(reqs, (q) => paths.indexOf(q.path)),
    start: Float64Array.from(reqs, (q) => q.start),
    end: Float64Array.from(reqs, (q) => q.end),
  });
  return { chunks: reqs.map((_, i) => res.chunk(i)), readsIssued: res.stats.readsIssued };
}

test("cache: local files only with local: true; the second pass issues no read and gives the same bytes", async () => {
  const reqs = randomRanges(1, 2000, files);
  {
    await using cache = await Cache.open({ bytes: 64 << 20 });
    await using reader = await Reader.open({ cache, hotPath: false });
    await reader.read(plain(reqs));
    const second = await readCounted(reader, reqs);
    assertEquals(cache.stats().hits + cache.stats().misses, 0, "local files are not cached by default");
    assert(second.readsIssued > 0);
  }
  await using cache = await Cache.open({ bytes: 64 << 20, local: true });
  for (const hotPath of [false, true]) {
    cache.clear();
    await using reader = await Reader.open({ cache, hotPath });
    const first = await reader.read(plain(reqs));
    assertBytes(first, reqs);
    const before = cache.stats();
    const second = await readCounted(reader, reqs);
    assertBytes(second.chunks, reqs);
    assertEquals(second.readsIssued, 0, `hotPath ${hotPath}: every range from RAM`);
    const after = cache.stats();
    assertEquals(after.hits - before.hits, reqs.length);
    assert(after.bytes <= after.budget && after.entries > 0);
  }
});

test("cache: a local file rewritten in place misses (size and mtime stamp) and the new bytes arrive", async () => {
  const p = writeRandomFile(dir, "changing", 100_000, 5);
  await using cache = await Cache.open({ bytes: 8 << 20, local: true });
  await using reader = await Reader.open({ cache, hotPath: false });
  const req = [{ path: p, start: 1000, end: 5000 }];
  const a = (await reader.read(req))[0] as Uint8Array;
  const fresh = Buffer.alloc(100_000, 7);
  fs.writeFileSync(p, fresh);
  fs.utimesSync(p, new Date(), new Date(Date.now() + 10_000));
  const b = (await reader.read(req))[0] as Uint8Array;
  assertEquals(Buffer.from(b).equals(fresh.subarray(1000, 5000)), true);
  assert(!Buffer.from(a).equals(Buffer.from(b)));
  assertEquals(cache.stats().stale, 1);
});

test("cache: remote ranges — the second pass sends no request; two readers reading the same ranges at once send one each", async () => {
  const server = await rangeServer(dir, { delayMs: 150 });
  try {
    const urls = files.map((f) => server.url + path.basename(f));
    const reqs = randomRanges(2, 300, urls);
    const unique = new Set(reqs.map((q) => `${q.path} ${q.start} ${q.end}`)).size;
    await using cache = await Cache.open({ bytes: 64 << 20 });
    await using a = await Reader.open({ cache });
    await using b = await Reader.open({ cache });
    const [ra, rb] = await Promise.all([a.read(plain(reqs), { plan: false }), b.read(plain(reqs), { plan: false })]);
    assertBytes(ra, reqs);
    assertBytes(rb, reqs);
    assertEquals(server.gets, unique, "each range fetched once across both readers");
    assert(cache.stats().waits >= reqs.length - unique, JSON.stringify(cache.stats()));
    const gets = server.gets;
    const again = await a.read(plain(reqs));
    assertBytes(again, reqs);
    assertEquals(server.gets, gets, "the second pass makes no request");
  } finally {
    await server.close();
  }
});

test("cache: the budget holds under a stream of misses, both policies, with evictions counted", async () => {
  for (const policy of ["s3fifo", "lru"] as const) {
    await using cache = await Cache.open({ bytes: 256 << 10, policy, local: true });
    await using reader = await Reader.open({ cache, hotPath: false });
    for (let k = 0; k < 5; k++) {
      const reqs = randomRanges(10 + k, 200, files);
      assertBytes(await reader.read(plain(reqs)), reqs);
      const st = cache.stats();
      assert(st.bytes <= st.budget, `${policy}: ${st.bytes} > ${st.budget}`);
    }
    const st = cache.stats();
    assert(st.evictions > 0 && st.evictedBytes > 0, JSON.stringify(st));
  }
});

test("cache: ShardedArray over HTTP, main thread and pool — epoch 2 sends no request, values equal epoch 1 and zarrita", async () => {
  const root = tempDir("lsio-cache-zarr-");
  const server = await rangeServer(root);
  try {
    const shape = [64, 48];
    const data = new Float32Array(shape[0] * shape[1]).map((_, i) => i * 0.5);
    await writeShardedArray(path.join(root, "a.zarr"), data, {
      shape,
      dtype: "float32",
      shardShape: [32, 24],
      chunkShape: [8, 6],
      codecs: "zstd",
    });
    await using cache = await Cache.open({ bytes: 16 << 20 });
    await using pool = await WorkerPool.open({ workers: 2 });
    await using arr = await ShardedArray.open(server.url + "a.zarr", { cache });
    const sel = [[3, 60], [5, 41]] as [number, number][];
    const e1 = await arr.read(sel);
    const afterEpoch1 = server.gets;
    const e2 = await arr.read(sel);
    const e3 = await arr.read(sel, { pool });
    assertEquals(server.gets, afterEpoch1, "epoch 2 and the pool read came from the cache");
    // Another array over the same cache: only its zarr.json is fetched; shard indexes and chunks come from RAM.
    await using again = await ShardedArray.open(server.url + "a.zarr", { cache });
    const e4 = await again.read(sel, { pool });
    assertEquals(server.gets, afterEpoch1 + 1, "shard indexes through the cache too");
    assertEquals(Array.from(e4.data as Float32Array), Array.from(e1.data as Float32Array));
    assertEquals(Array.from(e2.data as Float32Array), Array.from(e1.data as Float32Array));
    assertEquals(Array.from(e3.data as Float32Array), Array.from(e1.data as Float32Array));
    const store = new zarr.FetchStore(server.url + "a.zarr");
    const z = await zarr.open.v3(zarr.root(store), { kind: "array" });
    const ref = await zarr.get(z, [zarr.slice(3, 60), zarr.slice(5, 41)]);
    assertEquals(Array.from(e1.data as Float32Array), Array.from(ref.data as Float32Array));
    assert(cache.stats().hits > 0);
    await using s = await LsioStore.open(server.url + "a.zarr", { cache });
    const viaStore = await zarr.get(await zarr.open.v3(zarr.root(s), { kind: "array" }), [
      zarr.slice(3, 60),
      zarr.slice(5, 41),
    ]);
    assertEquals(Array.from(viaStore.data as Float32Array), Array.from(ref.data as Float32Array));
  } finally {
    await server.close();
    removeDir(root);
  }
});

test("cache: strict options, a closed cache refused, a cache closed by its owner still serves the readers holding it", async () => {
  await assertRejects(() => Cache.open({} as never), TypeError, "bytes");
  await assertRejects(() => Cache.open({ bytes: 0 }), RangeError);
  await assertRejects(() => Cache.open({ bytes: 1 << 20, polcy: "lru" } as never), TypeError, "policy");
  await assertRejects(() => Cache.open({ bytes: 1 << 20, policy: "arc" as never }), TypeError);
  await assertRejects(() => Reader.open({ cache: {} as never }), TypeError, "Cache");
  await assertRejects(() => WorkerPool.open({ workers: 1, cache: 5 as never }), TypeError, "Cache");
  const cache = await Cache.open({ bytes: 1 << 20, local: true });
  const reader = await Reader.open({ cache, hotPath: false });
  cache.close();
  cache.close(); // idempotent
  assertEquals(cache.closed, true);
  assertThrows(() => cache.stats(), LsioError, "closed");
  await assertRejects(() => Reader.open({ cache }), LsioError, "closed");
  const req = [{ path: files[0], start: 0, end: 4096 }];
  await reader.read(req);
  const again = await readCounted(reader, req);
  assertEquals(again.readsIssued, 0, "the reader's hold keeps the cache alive");
  await reader.close();
});

test("cache: cleanup", () => {
  removeDir(dir);
});

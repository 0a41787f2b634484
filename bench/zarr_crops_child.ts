// One JavaScript implementation of the zarr-crops workload (bench/zarr_crops.ts),
// the same file under Deno and Bun. Reads every crop of the crop list (Int32
// triples t, y, x) in batches, checks the sum of all values, prints one JSON line.
//
//   impl: lsio-batched        ShardedArray.readBatches, worker pool (one pinned worker per core)
//         lsio-batched-main   ShardedArray.readBatches on the main thread (no workers)
//         zarrita-lsio        zarrita + LsioStore, a batch of crops at once (Promise.all)
//         zarrita-fs          zarrita + FileSystemStore, the same
//         zarrita-fs-coalesce zarrita + withRangeCoalescing(FileSystemStore), the same
//         zarrita-fetch(-coalesce)  the same over FetchStore (spec.s3: a SigV4-signing fetch)
//         lsio-local-main     lsio-batched-main over the local folder (the reference for cached rows)
//         lsio-cached-main    lsio-batched-main through a Cache ({ bytes, policy } in spec.cache),
//         lsio-cached-pool    … and with the worker pool: one untimed epoch fills it, the second is timed
import * as fs from "node:fs";
import process from "node:process";
import * as zarr from "zarrita";
import FileSystemStore from "@zarrita/storage/fs";
import FetchStore from "@zarrita/storage/fetch";
import * as c from "./child.mjs";
import { signedFetch } from "./sigv4.ts";

interface Spec {
  impl: string;
  array: string;
  crops: string;
  count: number;
  size: number;
  batch: number;
  /** Untimed warm-up batches from the start of the crop list (default 1). */
  warmup?: number;
  /** Batches in flight: 1 reads a batch, then sums it; 2 reads the next batch while one is summed (default 1). */
  inflight?: number;
  /** `array` is an s3:// URL: how to reach it. */
  s3?: { endpoint: string; accessKeyId: string; secretAccessKey: string };
  /** lsio-cached-*: the cache's budget and policy. */
  cache?: { bytes: number; policy: "s3fifo" | "lru" };
}

const spec = JSON.parse(process.argv[process.argv.length - 1]) as Spec;
const raw = fs.readFileSync(spec.crops);
const crops = new Int32Array(raw.buffer, raw.byteOffset, spec.count * 3);
const S = spec.size;

/**
 * The sum of all values (the check every row makes). Int32 partial sums over
 * blocks of 2^15 values (2^15 × 65535 < 2^31): exact for uint16, and cheap
 * enough not to hide the reads it checks — the same function for every JS row.
 */
function sum(a: Uint16Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i += 32768) {
    const e = Math.min(a.length, i + 32768);
    let t = 0;
    for (let j = i; j < e; j++) t = (t + a[j]) | 0;
    s += t >>> 0;
  }
  return s;
}

async function main(): Promise<void> {
  let total = 0;
  const inflight = spec.inflight ?? 1;
  /** Reads and sums crops [0, count), batch after batch; inflight 2 reads the next batch while one is summed. */
  let pass: (count: number, report: boolean) => Promise<void>;
  let close = async () => {};
  const selections = function* (count: number) {
    for (let k = 0; k < count; k += spec.batch) {
      const sels = [];
      for (let i = k; i < Math.min(count, k + spec.batch); i++) {
        const [t, y, x] = crops.subarray(3 * i, 3 * i + 3);
        sels.push([t, [y, y + S], [x, x + S]] as [number, [number, number], [number, number]]);
      }
      yield sels;
    }
  };
  let cacheStats: (() => { hits: number; misses: number }) | undefined;
  if (spec.impl.startsWith("lsio-")) {
    const { Cache, Reader, WorkerPool } = await import("../mod.ts");
    const { ShardedArray } = await import("../zarr.ts");
    // The workers keep shard files open between tasks, as the main-thread path's reader does.
    const s3 = spec.s3 ? { s3: spec.s3 } : {};
    const reader = spec.s3 ? await Reader.open({ keepOpen: 1024, ...s3 }) : undefined;
    const usesPool = spec.impl === "lsio-batched" || spec.impl === "lsio-cached-pool";
    const pool = usesPool ? await WorkerPool.open({ keepOpen: 1024, ...s3 }) : undefined;
    const cache = spec.cache ? await Cache.open(spec.cache) : undefined;
    if (cache) cacheStats = () => cache.stats();
    const arr = await ShardedArray.open(spec.array, { ...(reader ? { reader } : {}), ...(cache ? { cache } : {}) });
    // The loader API: batches read ahead (inflight - 1) and outputs recycled, as an ML loader runs it.
    pass = async (count, report) => {
      let done = 0;
      for await (const res of arr.readBatches(selections(count), { pool, ahead: inflight - 1, recycle: true })) {
        total += sum(res.data as Uint16Array);
        done += res.shape[0];
        if (report) c.progress(done, count);
      }
    };
    close = async () => {
      await arr.close();
      await pool?.close();
      await reader?.close();
      cache?.close();
    };
  } else {
    let store: zarr.Readable;
    if (spec.impl === "zarrita-lsio") {
      const { LsioStore } = await import("../zarr.ts");
      const s = await LsioStore.open(spec.array, spec.s3 ? { readerOptions: { s3: spec.s3 } } : {});
      store = s;
      close = () => s.close();
    } else if (spec.impl === "zarrita-fs") store = new FileSystemStore(spec.array);
    else if (spec.impl === "zarrita-fs-coalesce") store = zarr.withRangeCoalescing(new FileSystemStore(spec.array));
    else if (spec.impl.startsWith("zarrita-fetch")) {
      // Over s3: path-style URL of the bucket, every request signed (zarrita has no S3 store).
      const fetchStore = spec.s3
        ? new FetchStore(`${spec.s3.endpoint}/${spec.array.slice("s3://".length)}`, { fetch: signedFetch(spec.s3) })
        : new FetchStore(spec.array);
      store = spec.impl === "zarrita-fetch-coalesce" ? zarr.withRangeCoalescing(fetchStore) : fetchStore;
    } else throw new Error(`unknown impl ${spec.impl}`);
    const arr = await zarr.open(store, { kind: "array" });
    const start = (sels: [number, [number, number], [number, number]][]) =>
      Promise.all(sels.map(([t, [y0, y1], [x0, x1]]) => zarr.get(arr, [t, zarr.slice(y0, y1), zarr.slice(x0, x1)])));
    pass = async (count, report) => {
      const queue: ReturnType<typeof start>[] = [];
      let done = 0;
      for (const sels of selections(count)) {
        queue.push(start(sels)); // the batch after the one summed next is read meanwhile (inflight 2)
        if (queue.length < inflight) continue;
        for (const r of await queue.shift()!) total += sum((r as { data: Uint16Array }).data), done++;
        if (report) c.progress(done, count);
      }
      while (queue.length) {
        for (const r of await queue.shift()!) total += sum((r as { data: Uint16Array }).data), done++;
      }
      if (report) c.progress(done, count);
    };
  }
  // Warm-up batches (JIT, caches: a training loop's steady state), not timed; with a Cache, a whole
  // epoch (the timed pass is then the second epoch over the same crops).
  const warm = cacheStats ? spec.count : Math.min(spec.count, Math.max(1, spec.warmup ?? 1) * spec.batch);
  await pass(warm, false);
  total = 0;
  const before = cacheStats?.();
  const t0 = performance.now();
  await pass(spec.count, true);
  const seconds = (performance.now() - t0) / 1000;
  const after = cacheStats?.();
  await close();
  const hits = before && after ? after.hits - before.hits : 0,
    misses = before && after ? after.misses - before.misses : 0;
  c.emit({
    impl: spec.impl,
    crops: spec.count,
    seconds,
    crops_per_s: spec.count / seconds,
    checksum: total,
    ...(after ? { hit_ratio: hits / Math.max(1, hits + misses) } : {}),
  });
}

await main();

// One JavaScript implementation of the zarr-crops workload (bench/zarr_crops.ts),
// the same file under Deno and Bun. Reads every crop of the crop list (Int32
// triples t, y, x) in batches, checks the sum of all values, prints one JSON line.
//
//   impl: lsio-batched        ShardedArray.readBatch, worker pool (one pinned worker per core)
//         lsio-batched-main   ShardedArray.readBatch on the main thread (no workers)
//         zarrita-lsio        zarrita + LsioStore, a batch of crops at once (Promise.all)
//         zarrita-fs          zarrita + FileSystemStore, the same
//         zarrita-fs-coalesce zarrita + withRangeCoalescing(FileSystemStore), the same
import * as fs from "node:fs";
import process from "node:process";
import * as zarr from "zarrita";
import FileSystemStore from "@zarrita/storage/fs";
import * as c from "./child.mjs";

interface Spec {
  impl: string;
  array: string;
  crops: string;
  count: number;
  size: number;
  batch: number;
  /** Untimed warm-up batches from the start of the crop list (default 1). */
  warmup?: number;
}

const spec = JSON.parse(process.argv[process.argv.length - 1]) as Spec;
const raw = fs.readFileSync(spec.crops);
const crops = new Int32Array(raw.buffer, raw.byteOffset, spec.count * 3);
const S = spec.size;

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

async function main(): Promise<void> {
  let total = 0;
  let run: (from: number, to: number) => Promise<void>;
  let close = async () => {};
  if (spec.impl.startsWith("lsio-batched")) {
    const { ShardedArray, WorkerPool } = await import("../mod.ts");
    // The workers keep shard files open between tasks, as the main-thread path's reader does.
    const pool = spec.impl === "lsio-batched" ? await WorkerPool.open({ keepOpen: 1024 }) : undefined;
    const arr = await ShardedArray.open(spec.array);
    run = async (from, to) => {
      const sels = [];
      for (let k = from; k < to; k++) {
        const [t, y, x] = crops.subarray(3 * k, 3 * k + 3);
        sels.push([t, [y, y + S], [x, x + S]] as [number, [number, number], [number, number]]);
      }
      const res = await arr.readBatch(sels, { pool });
      total += sum(res.data as Uint16Array);
    };
    close = async () => {
      await arr.close();
      await pool?.close();
    };
  } else {
    let store: zarr.Readable;
    if (spec.impl === "zarrita-lsio") {
      const { LsioStore } = await import("../mod.ts");
      const s = await LsioStore.open(spec.array);
      store = s;
      close = () => s.close();
    } else if (spec.impl === "zarrita-fs") store = new FileSystemStore(spec.array);
    else if (spec.impl === "zarrita-fs-coalesce") store = zarr.withRangeCoalescing(new FileSystemStore(spec.array));
    else throw new Error(`unknown impl ${spec.impl}`);
    const arr = await zarr.open(store, { kind: "array" });
    run = async (from, to) => {
      const jobs = [];
      for (let k = from; k < to; k++) {
        const [t, y, x] = crops.subarray(3 * k, 3 * k + 3);
        jobs.push(zarr.get(arr, [t, zarr.slice(y, y + S), zarr.slice(x, x + S)]));
      }
      for (const r of await Promise.all(jobs)) total += sum((r as { data: Uint16Array }).data);
    };
  }
  // Warm-up batches (JIT, caches: a training loop's steady state), not timed.
  const warm = Math.min(spec.count, Math.max(1, spec.warmup ?? 1) * spec.batch);
  for (let k = 0; k < warm; k += spec.batch) await run(k, Math.min(warm, k + spec.batch));
  total = 0;
  const t0 = performance.now();
  for (let k = 0; k < spec.count; k += spec.batch) {
    await run(k, Math.min(spec.count, k + spec.batch));
    c.progress(Math.min(spec.count, k + spec.batch), spec.count);
  }
  const seconds = (performance.now() - t0) / 1000;
  await close();
  c.emit({ impl: spec.impl, crops: spec.count, seconds, crops_per_s: spec.count / seconds, checksum: total });
}

await main();

/**
 * The ML loader of examples/random_crops.ts over the network: random 64×64
 * crops of a sharded Zarr v3 array read over HTTP (or any `http(s)://` or
 * `s3://` array given with --url), through a RAM {@linkcode Cache} of the raw
 * byte ranges. The first epoch reads over the network (one GET per shard and
 * batch: the cloud profile merges a shard's chunks); the second epoch asks for
 * the same crops and is served from the cache. Without --url it writes a small
 * array (once) and serves it from a child process on 127.0.0.1
 * (examples/_serve_folder.ts). Checks the first batch against the local
 * array, prints crops/s per epoch and the cache's hits (in the first epoch
 * too: crops share chunks with crops read before them). Deno or Bun:
 *
 *   deno run -A examples/remote_crops.ts [--batches=N] [--url=https://host/array.zarr]
 *   bun examples/remote_crops.ts
 *
 * @module
 */
import * as fs from "node:fs";
import process from "node:process";
import { spawn } from "node:child_process";
import { Cache } from "../mod.ts";
import { type DimSelection, ShardedArray, writeShardedArray } from "../zarr.ts";

const batches = Number(process.argv.find((a) => a.startsWith("--batches="))?.slice(10) ?? 48);
const given = process.argv.find((a) => a.startsWith("--url="))?.slice(6);
const CROP = 64, BATCH = 64;
const dir = new URL("../bench/data/remote-crops-8x1024x1024/", import.meta.url).pathname;

// 1. The array: served from the local folder by a child process, unless --url names one.
let url = given, server: ReturnType<typeof spawn> | undefined;
if (!url) {
  if (!fs.existsSync(`${dir}.complete`)) {
    console.log(`1. writing ${dir}: 8×1024×1024 uint16 (16 MiB), shards 1×512×512, chunks 1×32×64 (4 KiB)`);
    const data = Uint16Array.from({ length: 8 * 1024 * 1024 }, (_, i) => (i * 2654435761) >>> 16);
    await writeShardedArray(dir, data, {
      shape: [8, 1024, 1024],
      dtype: "uint16",
      shardShape: [1, 512, 512],
      chunkShape: [1, 32, 64],
      codecs: "raw",
    });
    fs.writeFileSync(`${dir}.complete`, "");
  }
  const script = new URL("./_serve_folder.ts", import.meta.url).pathname;
  const argv = "Bun" in globalThis ? [script, dir] : ["run", "-A", script, dir];
  server = spawn(process.execPath, argv, { stdio: ["pipe", "pipe", "inherit"] });
  const port = await new Promise<string>((resolve, reject) => {
    server!.stdout!.on("data", (d) => {
      const m = /listening (\d+)/.exec(String(d));
      if (m) resolve(m[1]);
    });
    server!.on("exit", (code) => reject(new Error(`the file server exited (${code})`)));
  });
  url = `http://127.0.0.1:${port}/`;
  console.log(`1. serving ${dir} at ${url} (a child process)`);
} else console.log(`1. array: ${url}`);

// 2. Two epochs of the same crops through one cache.
await using cache = await Cache.open({ bytes: 256 * 2 ** 20 });
await using arr = await ShardedArray.open(url, { cache });
const [T, H, W] = arr.shape;
/** The same seeded crops every epoch. */
function* selections(): Generator<DimSelection[][]> {
  let seed = 42;
  const rnd = (n: number) => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) % n;
  for (let b = 0; b < batches; b++) {
    yield Array.from({ length: BATCH }, () => {
      const y = rnd(H - CROP), x = rnd(W - CROP);
      return [rnd(T), [y, y + CROP], [x, x + CROP]] as DimSelection[];
    });
  }
}
if (!given) { // the bytes over HTTP are the local array's
  await using local = await ShardedArray.open(dir);
  const first = selections().next().value!;
  const [a, b] = [await arr.readBatch(first), await local.readBatch(first)];
  const same = (a.data as Uint16Array).every((v, i) => v === (b.data as Uint16Array)[i]);
  console.log(`   first batch over HTTP equals the local array: ${same ? "yes" : "NO"}`);
  if (!same) process.exitCode = 1;
}
for (const epoch of [1, 2]) {
  const before = cache.stats();
  const t0 = performance.now();
  let sum = 0;
  for await (const batch of arr.readBatches(selections(), { ahead: 1, recycle: true })) {
    const d = batch.data as Uint16Array;
    for (let i = 0; i < d.length; i += 97) sum += d[i]; // the "training step"
  }
  const s = (performance.now() - t0) / 1000, st = cache.stats();
  const hits = st.hits - before.hits, misses = st.misses - before.misses;
  console.log(
    `2. epoch ${epoch}: ${Math.round(batches * BATCH / s).toLocaleString("en")} crops/s (${s.toFixed(2)} s), ` +
      `cache hits ${hits.toLocaleString("en")} / ${(hits + misses).toLocaleString("en")} ranges, checksum ${sum}`,
  );
}
server?.kill();

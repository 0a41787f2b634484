/**
 * An ML-style data loader on a sharded Zarr v3 array: random 64×64 crops of a
 * time × y × x uint16 array (satellite imagery over time, say), normalised to
 * float32 in the worker pool where each chunk is decoded, delivered as
 * batches of 64 crops, with the next batch read while the current one is
 * consumed. Generates its data set (once) and prints crops/s and GB/s.
 * Runs under Deno or Bun:
 *
 *   deno run -A examples/random_crops.ts [--quick] [--zstd] [--batches=N]
 *   bun examples/random_crops.ts [--quick]
 *
 * @module
 */
import * as fs from "node:fs";
import process from "node:process";
import { WorkerPool } from "../mod.ts";
import { type DimSelection, ShardedArray, writeShardedArray } from "../zarr.ts";

const quick = process.argv.includes("--quick");
const codecs = process.argv.includes("--zstd") ? "zstd" : "raw";
const batches = Number(process.argv.find((a) => a.startsWith("--batches="))?.slice(10) ?? (quick ? 64 : 512));
const [T, H, W] = quick ? [8, 1024, 1024] : [16, 2048, 2048];
const CROP = 64, BATCH = 64;
const dir = new URL(`../bench/data/random-crops-${T}x${H}x${W}-${codecs}/`, import.meta.url).pathname;

// 1. The data set: shards of 1×512×512, inner chunks of 1×32×64 (4 KiB raw), made once.
if (!fs.existsSync(`${dir}.complete`)) {
  console.log(
    `1. writing ${dir}: ${T}×${H}×${W} uint16 (${(T * H * W * 2 / 2 ** 20).toFixed(0)} MiB), ${codecs} inner chunks`,
  );
  const data = new Uint16Array(T * H * W);
  for (let i = 0; i < data.length; i++) {
    const x = i % W, y = Math.floor(i / W) % H, t = Math.floor(i / (W * H));
    data[i] = (Math.sin(x / 40 + t) * 20000 + Math.cos(y / 30) * 20000 + 30000 + (i % 7) * 100) & 0xffff;
  }
  await writeShardedArray(dir, data, {
    shape: [T, H, W],
    dtype: "uint16",
    shardShape: [1, 512, 512],
    chunkShape: [1, 32, 64],
    codecs,
    attributes: { description: "LSIO random-crops demo data" },
  });
  fs.writeFileSync(`${dir}.complete`, "");
} else console.log(`1. data set: ${dir} (${T}×${H}×${W} uint16, ${codecs})`);

// 2. The loader.
const pool = await WorkerPool.open({ keepOpen: 1024 }); // shard files stay open between batches
const arr = await ShardedArray.open(dir);
let seed = 42;
const rnd = (n: number) => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) % n;
/** The crops of each batch, made as the loader asks for them. */
function* selections(): Generator<DimSelection[][]> {
  for (let b = 0; b < batches; b++) {
    const sels: DimSelection[][] = [];
    for (let k = 0; k < BATCH; k++) {
      const y = rnd(H - CROP), x = rnd(W - CROP);
      sels.push([rnd(T), [y, y + CROP], [x, x + CROP]]);
    }
    yield sels;
  }
}
console.log(
  `2. ${batches} batches of ${BATCH} random ${CROP}×${CROP} crops → float32 [${BATCH}, ${CROP}, ${CROP}], on ${pool.size} pinned workers`,
);
const tty = process.stderr.isTTY;
let mean = 0, b = 0;
const t0 = performance.now();
// The next batch is read (in the workers) while this one is used; outputs are recycled: a batch's
// data is valid until the next iteration. uint16 → float32 in [0, 1] where each chunk is copied.
const loader = arr.readBatches(selections(), { pool, ahead: 1, recycle: true, dtype: "float32", scale: 1 / 65535 });
for await (const batch of loader) {
  // "Training step": here, the mean of the batch.
  const d = batch.data as Float32Array;
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i];
  mean += s / d.length / batches;
  b++;
  if (b % 16 === 0 || b === batches) {
    const sec = (performance.now() - t0) / 1000, crops = b * BATCH;
    const bar = "#".repeat(Math.round((b / batches) * 30)).padEnd(30, ".");
    const line = `   [${bar}] ${b}/${batches} batches  ${Math.round(crops / sec).toLocaleString("en")} crops/s`;
    process.stderr.write(tty ? `\r${line}` : `${line}\n`);
  }
}
if (tty) process.stderr.write("\n");
const seconds = (performance.now() - t0) / 1000;
const crops = batches * BATCH;
const bytes = crops * CROP * CROP * 2; // uint16 read per crop (the float32 delivered is twice that)
console.log(
  `   ${Math.round(crops / seconds).toLocaleString("en")} crops/s, ${
    (bytes / seconds / 1e9).toFixed(3)
  } GB/s of uint16 crops ` +
    `(${seconds.toFixed(2)} s); mean pixel ${mean.toFixed(4)}`,
);
await arr.close();
await pool.close();

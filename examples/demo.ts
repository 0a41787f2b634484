/**
 * The README's demo: generate a data set, read a million 4 KiB chunks with
 * LSIO into one final array, then measure the same kind of reads through
 * fio and the runtime's own file API side by side (bench/main.ts, workload
 * random4k), then run the ML-style loader of random crops of a sharded Zarr
 * array it generates (examples/random_crops.ts). Runs under Deno or Bun:
 *
 *   deno run -A examples/demo.ts [--quick]
 *   bun examples/demo.ts [--quick]
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import process from "node:process";
import { allocAligned, Reader } from "../mod.ts";
import { BLOCK, DATA_DIR, ensureDataFile, warm } from "../bench/data.ts";

const quick = process.argv.includes("--quick");
const runtime = "Bun" in globalThis ? "bun" : "deno";
const MiB = 2 ** 20;
const fileBytes = (quick ? 64 : 256) * MiB;
const chunks = quick ? 1 << 17 : 1 << 20;
const path = `${DATA_DIR}demo-${fileBytes / MiB}M.dat`;

console.log(`1. data set: ${path} (${fileBytes / MiB} MiB, each 4 KiB block stamped with its number)`);
ensureDataFile(path, fileBytes, () => {});
warm(path);

console.log(`2. ${chunks.toLocaleString("en")} random 4 KiB chunks → one final array, in batches of 65 536`);
await using reader = await Reader.open();
const batch = 65536;
const slab = await allocAligned(batch * BLOCK); // 4096-aligned; reused per batch, each chunk in its own place
const blocks = fileBytes / BLOCK;
const start = new Float64Array(batch), end = new Float64Array(batch), offsets = new Float64Array(batch);
for (let i = 0; i < batch; i++) offsets[i] = i * BLOCK;
let seconds = 0, wrong = 0;
for (let done = 0; done < chunks; done += batch) {
  for (let i = 0; i < batch; i++) {
    start[i] = Math.floor(Math.random() * blocks) * BLOCK;
    end[i] = start[i] + BLOCK;
  }
  const t0 = performance.now();
  const res = await reader.readColumnar({
    paths: [path],
    file: new Uint32Array(batch),
    start,
    end,
    dest: { buffer: slab, offsets },
  });
  seconds += (performance.now() - t0) / 1000;
  // Every chunk starts with its block number: check them all.
  const words = new Uint32Array(slab.buffer, slab.byteOffset, slab.byteLength / 4);
  for (let i = 0; i < batch; i++) if (words[i * 1024] !== start[i] / BLOCK || res.status[i] !== 0) wrong++;
}
console.log(
  `   ${Math.round(chunks / seconds).toLocaleString("en")} chunks/s (${
    (chunks * BLOCK / seconds / 1e9).toFixed(2)
  } GB/s), backend ${reader.info.backend}, queue depth ${reader.info.queueDepth}; ${wrong} chunks wrong`,
);
if (wrong) process.exit(1);

console.log(`3. the same kind of reads through LSIO, fio and ${runtime}'s file API, side by side:`);
const impls = runtime === "bun"
  ? "lsio-bun,lsio-pool-bun,fio,bun-readsync,bun-promises"
  : "lsio-deno,lsio-pool-deno,fio,deno-fsfile-sync,deno-fsfile-async";
// The bench orchestrator is a Deno script; each implementation runs in its own process.
const deno = new URL("../node_modules/.bin/deno", import.meta.url).pathname;
const bench = spawnSync(
  runtime === "deno" ? process.execPath : deno,
  [
    "run",
    "-A",
    new URL("../bench/main.ts", import.meta.url).pathname,
    "random4k",
    `--impls=${impls}`,
    `--out=${new URL("../bench/results/demo/", import.meta.url).pathname}`,
  ]
    .concat(quick ? ["--quick"] : []),
  { stdio: "inherit" },
);
if (bench.status !== 0) process.exit(bench.status ?? 1);

console.log(`4. random crops of a sharded Zarr v3 array (examples/random_crops.ts):`);
const crops = spawnSync(
  process.execPath,
  (runtime === "deno" ? ["run", "-A"] : []).concat(
    new URL("./random_crops.ts", import.meta.url).pathname,
    quick ? ["--quick"] : [],
  ),
  { stdio: "inherit" },
);
process.exit(crops.status ?? 1);

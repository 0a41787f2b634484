/**
 * The worker-pool benchmark: LSIO's pinned workers (one ring each) beside
 * fio and a hand-written loop, in one run, with the design's choices measured
 * against their alternatives: pinned vs unpinned, 1 vs 2 workers, Deno vs Bun.
 *
 *   deno run -A bench/pool.ts [random] [shard] [mean] [--quick] [--qd=64]
 *
 * Workloads (hot page cache; data under bench/data/, made once):
 *   random  2^20 random 4 KiB reads of a 256 MiB file, every chunk to its own
 *           place of a 256 MiB shared array (pool.readInto, batches of 65536);
 *           fio io_uring randread with 1 and 2 jobs at the same total depth
 *   shard   every 4 KiB chunk of 32 of 64 float32 shard files (4 MiB each),
 *           32 passes: JS transform summing each chunk into the final array
 *           (pool.transformInto), the native sum (pool.reduce), read only
 *           (pool.readInto); a one-thread readSync+sum loop; fio sequential
 *   mean    mean of 1 GiB of float32 (4 files, 256 KiB pieces, 2 passes) by
 *           pool.reduce vs fio sequential reads of the same files
 *
 * Results: bench/results/pool.json (quick runs: bench/results/quick/).
 *
 * @module
 */
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { BLOCK, DATA_DIR, ensureDataFile, selectShards, warm, warmAll, writeIndex } from "./data.ts";
import { fioVersion } from "./fio.ts";
import { ProgressBar } from "./progress.ts";
import { RESULTS_DIR } from "./report.ts";
import { run } from "./spawn.ts";
import type { PoolSpec } from "./pool_child.ts";

const HERE = new URL(".", import.meta.url).pathname;
const ROOT = new URL("..", import.meta.url).pathname;
const DENO = Deno.execPath();
const BUN = `${ROOT}node_modules/.bin/bun`;
const MiB = 2 ** 20;

const args = parseArgs({
  args: Deno.args,
  options: { quick: { type: "boolean", default: false }, qd: { type: "string", default: "64" } },
  allowPositionals: true,
});
const quick = args.values.quick;
const QD = Number(args.values.qd);
const chosen = args.positionals.length ? args.positionals : ["random", "shard", "mean"];

interface Row {
  workload: string;
  impl: string;
  label: string;
  runtime: string;
  status: "ok" | "failed" | "skipped";
  chunks_per_s?: number;
  gb_per_s?: number;
  seconds?: number;
  note?: string;
  peak_rss_bytes?: number;
  ratio?: number | null;
}

const rows: Row[] = [];
const STEPS = { random: 6, shard: 12, mean: 7 } as Record<string, number>;
const progress = new ProgressBar(chosen.reduce((n, w) => n + (STEPS[w] ?? 0), 0));
const fmt = (n: number) => Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");

/** Float32 files of `bytes` each: values in [-1, 1), seeded, made once. */
function ensureFloatFiles(dir: string, count: number, bytes: number, name: (i: number) => string): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const paths = Array.from({ length: count }, (_, i) => `${dir}/${name(i)}`);
  const buf = new Float32Array(bytes / 4);
  let seed = 0x9e3779b9;
  paths.forEach((p, i) => {
    try {
      if (fs.statSync(p).size === bytes) return;
    } catch { /* make it */ }
    for (let k = 0; k < buf.length; k++) {
      seed = (Math.imul(seed, 1664525) + 1013904223 + i) >>> 0;
      buf[k] = seed / 2147483648 - 1;
    }
    fs.writeFileSync(p, new Uint8Array(buf.buffer));
  });
  return paths;
}

/** The pool set-ups every shard workload compares: pinning, worker count, runtime. */
const POOL_VARIANTS = [
  { id: "lsio-2w-pinned", label: "2 workers pinned", runtime: "deno", workers: 2, pin: true },
  { id: "lsio-2w-unpinned", label: "2 workers unpinned", runtime: "deno", workers: 2, pin: false },
  { id: "lsio-1w-pinned", label: "1 worker pinned", runtime: "deno", workers: 1, pin: true },
  { id: "lsio-2w-pinned-bun", label: "2 workers pinned (Bun)", runtime: "bun", workers: 2, pin: true },
] as const;

async function child(workload: string, label: string, runtime: "deno" | "bun", spec: PoolSpec) {
  progress.start(`${workload}: ${label} (${runtime})`);
  const argv = runtime === "deno"
    ? [DENO, "run", "-A", `${HERE}pool_child.ts`, JSON.stringify(spec)]
    : [BUN, `${HERE}pool_child.ts`, JSON.stringify(spec)];
  const r = await run(argv, (d, t) => progress.update(d / t));
  const line = r.stdout.trim().split("\n").filter((l) => l.startsWith("{")).at(-1);
  if (r.code !== 0 || !line) {
    rows.push({
      workload,
      impl: spec.impl,
      label,
      runtime,
      status: "failed",
      note: r.stderr.trim().split("\n").slice(-5).join(" | "),
    });
    progress.end("FAILED");
    return;
  }
  const j = JSON.parse(line);
  progress.end(`${fmt(j.chunks_per_s)} chunks/s, ${j.gb_per_s.toFixed(2)} GB/s`);
  rows.push({
    workload,
    impl: spec.impl,
    label,
    runtime: `${j.runtime} ${j.runtime_version}`,
    status: "ok",
    chunks_per_s: j.chunks_per_s,
    gb_per_s: j.gb_per_s,
    seconds: j.seconds,
    note: j.note,
    peak_rss_bytes: r.peakRssBytes,
  });
}

/** fio with `jobs` jobs (aggregate figures, group_reporting). */
async function fio(workload: string, impl: string, label: string, fioArgs: string[], chunkBytes: number) {
  const version = fioVersion();
  if (!version) {
    rows.push({ workload, impl, label, runtime: "fio", status: "skipped", note: "fio is not installed" });
    return;
  }
  progress.start(`${workload}: ${label}`);
  const r = await run([
    "fio",
    ...fioArgs,
    "--thread",
    "--ioengine=io_uring",
    "--invalidate=0",
    "--group_reporting",
    "--output-format=json",
  ], () => {});
  if (r.code !== 0) {
    rows.push({ workload, impl, label, runtime: `fio ${version}`, status: "failed", note: r.stderr.slice(-300) });
    progress.end("FAILED");
    return;
  }
  const job = JSON.parse(r.stdout.slice(r.stdout.indexOf("{"))).jobs[0];
  const bw = job.read.bw_bytes as number;
  progress.end(`${fmt(bw / chunkBytes)} chunks/s, ${(bw / 1e9).toFixed(2)} GB/s`);
  rows.push({
    workload,
    impl,
    label,
    runtime: `fio ${version}`,
    status: "ok",
    chunks_per_s: bw / chunkBytes,
    gb_per_s: bw / 1e9,
    seconds: job.read.runtime / 1000,
    note: fioArgs.filter((a) => !a.startsWith("--filename")).join(" "),
    peak_rss_bytes: r.peakRssBytes,
  });
}

function table(workload: string, base: string, measure: "chunks_per_s" | "gb_per_s"): string {
  const rs = rows.filter((r) => r.workload === workload);
  const ref = rs.find((r) => r.impl === base && r.status === "ok")?.[measure];
  for (const r of rs) r.ratio = ref && r[measure] ? r[measure]! / ref : null;
  const head = ["impl", "runtime", "chunks/s", "GB/s", `vs ${base}`];
  const body = rs.map((r) =>
    r.status !== "ok" ? [r.label, r.runtime, r.status, "-", "-"] : [
      r.label,
      r.runtime,
      fmt(r.chunks_per_s!),
      r.gb_per_s!.toFixed(2),
      r.ratio === null || r.ratio === undefined ? "-" : `${r.ratio.toFixed(2)}x`,
    ]
  );
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (c: string[]) => c.map((x, i) => (i < 2 ? x.padEnd(w[i]) : x.padStart(w[i]))).join("  ");
  return [line(head), w.map((n) => "-".repeat(n)).join("  "), ...body.map(line)].join("\n");
}

/**
 * fio jobs reading disjoint parts of every file (job k: the k-th 1/jobs of
 * each): several jobs reading the same pages at once would find them in the
 * shared L3 and report more than the files' bandwidth.
 */
function disjoint(jobs: number): string[] {
  return jobs > 1 ? [`--size=${100 / jobs}%`, `--offset_increment=${100 / jobs}%`] : [];
}

const get = (workload: string, impl: string) =>
  rows.find((r) => r.workload === workload && r.impl === impl && r.status === "ok");
const bars: string[] = [];
function bar(text: string, value: number | undefined, min: number, unit = "x") {
  const v = value === undefined ? "n/a" : unit === "x" ? `${value.toFixed(2)}x` : fmt(value);
  bars.push(
    `${value !== undefined && value >= min ? "MET " : "NOT MET"}  ${text}: ${v} (bar ${
      unit === "x" ? `${min}x` : fmt(min)
    })`,
  );
}

// ---- random ----
if (chosen.includes("random")) {
  const reads = quick ? 1 << 18 : 1 << 20;
  const data = `${DATA_DIR}random4k-256M.dat`;
  ensureDataFile(data, 256 * MiB, () => {});
  const index = `${DATA_DIR}pool-random-${reads}.idx`;
  writeIndex(index, reads, (256 * MiB) / BLOCK, 11);
  warm(data);
  const spec = (impl: string, workers: number, pin: boolean): PoolSpec => ({
    impl,
    kind: "random",
    workers,
    pin,
    qd: QD / workers,
    data,
    index,
    reads,
  });
  const fioRand = (jobs: number) => [
    `--name=pool-random`,
    `--filename=${data}`,
    "--rw=randread",
    "--bs=4k",
    "--size=256M",
    `--numjobs=${jobs}`,
    `--iodepth=${QD / jobs}`,
    `--number_ios=${reads / jobs}`,
    "--norandommap",
    "--randrepeat=0",
  ];
  await fio("random", "fio-2jobs", `fio io_uring randread, 2 jobs × QD ${QD / 2}`, fioRand(2), BLOCK);
  await child("random", `LSIO pool, 2 workers pinned, QD ${QD / 2} each`, "deno", spec("lsio-2w-pinned", 2, true));
  await child("random", `LSIO pool, 2 workers unpinned`, "deno", spec("lsio-2w-unpinned", 2, false));
  await child("random", `LSIO pool, 1 worker pinned, QD ${QD}`, "deno", spec("lsio-1w-pinned", 1, true));
  await child("random", `LSIO pool, 2 workers pinned (Bun)`, "bun", spec("lsio-2w-pinned-bun", 2, true));
  await fio("random", "fio-1job", `fio io_uring randread, 1 job × QD ${QD}`, fioRand(1), BLOCK);
  console.log(`\nrandom: ${reads} random 4 KiB reads of a 256 MiB hot file, total depth ${QD}\n`);
  console.log(table("random", "fio-2jobs", "chunks_per_s"));
  bar("random4k, 2 pinned workers vs fio io_uring 2 jobs", get("random", "lsio-2w-pinned")?.ratio ?? undefined, 1.0);
}

// ---- shard ----
if (chosen.includes("shard")) {
  const passes = quick ? 8 : 32;
  const dir = `${DATA_DIR}floatshards-64x4M`;
  const all = ensureFloatFiles(dir, 64, 4 * MiB, (i) => `shard-${String(i).padStart(4, "0")}.f32`);
  const files = Array.from(selectShards(64, 32, 3), (s) => all[s]);
  warmAll(all);
  const chunks = passes * files.length * 1024;
  const spec = (impl: string, kind: PoolSpec["kind"], workers: number, pin: boolean): PoolSpec => ({
    impl,
    kind,
    workers,
    pin,
    qd: QD / workers,
    files,
    passes,
  });
  for (const v of POOL_VARIANTS) {
    await child(
      "shard-sum",
      `LSIO pool, JS sum transform, ${v.label}`,
      v.runtime,
      spec(v.id, "shard-sum", v.workers, v.pin),
    );
  }
  await child("shard-sum", "readSync + JS sum, one thread", "deno", spec("peer-sum", "peer-sum", 1, false));
  await child("shard-sum", "readSync + JS sum, one thread (Bun)", "bun", spec("peer-sum-bun", "peer-sum", 1, false));
  for (const v of POOL_VARIANTS) {
    await child(
      "shard-native",
      `LSIO pool, native sum, ${v.label}`,
      v.runtime,
      spec(v.id, "shard-native", v.workers, v.pin),
    );
  }
  await child(
    "shard-native",
    "LSIO pool, read only into the final array, 2 workers",
    "deno",
    spec("lsio-read-2w", "shard-read", 2, true),
  );
  const seq = (jobs: number) => [
    "--name=pool-shard-seq",
    `--filename=${files.map((f) => f.replace(/:/g, "\\:")).join(":")}`,
    "--rw=read",
    "--bs=256k",
    "--file_service_type=sequential",
    `--numjobs=${jobs}`,
    `--iodepth=${QD / jobs}`,
    `--loops=${passes}`,
    ...disjoint(jobs),
  ];
  await fio("shard-native", "fio-seq-2jobs", "fio sequential 256 KiB reads, 2 jobs (read only)", seq(2), BLOCK);
  console.log(
    `\nshard-sum: every 4 KiB chunk of 32 float32 shards × ${passes} passes (${
      fmt(chunks)
    } chunks), summed by a JS transform into the final array\n`,
  );
  console.log(table("shard-sum", "peer-sum", "chunks_per_s"));
  console.log(`\nshard-native: the same chunks, native float32 sum reduction\n`);
  console.log(table("shard-native", "fio-seq-2jobs", "chunks_per_s"));
  bar(
    "shard4k + JS sum transform into the final array, chunks/s",
    get("shard-sum", "lsio-2w-pinned")?.chunks_per_s,
    1_000_000,
    "/s",
  );
  bar("shard4k + native sum, chunks/s", get("shard-native", "lsio-2w-pinned")?.chunks_per_s, 2_000_000, "/s");
}

// ---- mean ----
if (chosen.includes("mean")) {
  const fileBytes = (quick ? 64 : 256) * MiB, passes = quick ? 4 : 8;
  const files = ensureFloatFiles(`${DATA_DIR}mean-4x${fileBytes / MiB}M`, 4, fileBytes, (i) => `part-${i}.f32`);
  warmAll(files);
  // 1 MiB pieces, 4 MiB worker buffers: fewer, larger tasks (bench/README.md: buffer sizes).
  const spec = (impl: string, workers: number, pin: boolean, bufferBytes = 4 * MiB): PoolSpec => ({
    impl,
    kind: "mean",
    workers,
    pin,
    qd: QD / workers,
    files,
    passes,
    piece: MiB,
    bufferBytes,
  });
  const seq = (jobs: number, bs: string) => [
    "--name=pool-mean-seq",
    `--filename=${files.join(":")}`,
    "--rw=read",
    `--bs=${bs}`,
    "--file_service_type=sequential",
    `--numjobs=${jobs}`,
    `--iodepth=${Math.max(1, 32 / jobs)}`,
    `--loops=${passes}`,
    ...disjoint(jobs),
  ];
  await fio("mean", "fio-seq-2jobs", "fio sequential 256 KiB reads, 2 jobs", seq(2, "256k"), MiB);
  await fio("mean", "fio-seq-2jobs-1m", "fio sequential 1 MiB reads, 2 jobs", seq(2, "1m"), MiB);
  await fio("mean", "fio-seq-1job", "fio sequential 256 KiB reads, 1 job", seq(1, "256k"), MiB);
  await child("mean", "LSIO pool.reduce mean, 2 workers pinned", "deno", spec("lsio-2w-pinned", 2, true));
  await child("mean", "LSIO pool.reduce mean, 2 workers unpinned", "deno", spec("lsio-2w-unpinned", 2, false));
  await child("mean", "LSIO pool.reduce mean, 1 worker pinned", "deno", spec("lsio-1w-pinned", 1, true));
  await child(
    "mean",
    "LSIO pool.reduce mean, 2 workers pinned, 512 KiB buffers",
    "deno",
    spec("lsio-2w-512k", 2, true, MiB / 2),
  );
  console.log(`\nmean: float32 mean of ${(4 * fileBytes) / MiB} MiB (4 files, 1 MiB pieces) × ${passes} passes, hot\n`);
  console.log(table("mean", "fio-seq-2jobs", "gb_per_s"));
  bar("mean vs fio sequential, 2 jobs", get("mean", "lsio-2w-pinned")?.ratio ?? undefined, 0.9);
}

console.log("\nBars (issue 5):\n" + bars.join("\n"));
for (const r of rows) if (r.status !== "ok") console.log(`${r.workload} ${r.label}: ${r.status}: ${r.note}`);
const outDir = quick ? `${RESULTS_DIR}quick/` : RESULTS_DIR;
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(
  `${outDir}pool.json`,
  JSON.stringify(
    { date: new Date().toISOString(), quick, qd: QD, cores: navigator.hardwareConcurrency, bars, rows },
    null,
    2,
  ),
);
console.log(`\nwrote ${outDir}pool.json`);

/**
 * LSIO benchmark: the same 4 KiB reads through LSIO, fio and the runtimes'
 * own file APIs, side by side in one run.
 *
 *   deno run -A bench/main.ts [random4k] [direct4k] [shard4k] [--quick] [--qd=64]
 *     [--impls=id,…] [--runtimes=deno,node,bun,fio] [--peer-reads=N] [--repeat=N]
 *
 * Each implementation runs in its own process (one JSON line on stdout);
 * results go to bench/results/<workload>.{json,svg}. Absolute figures on a
 * small machine are noise; the ratios within one run are the evidence.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { BLOCK, DATA_DIR, dropCache, ensureDataFile, residentBytes, warm, warmAll, writeIndex } from "./data.ts";
import { fioArgs, fioSeqArgs, fioVersion, parseFio, writeIolog } from "./fio.ts";
import { ProgressBar } from "./progress.ts";
import { addRatios, type BenchRecord, RESULTS_DIR, table, writeResults } from "./report.ts";
import { run } from "./spawn.ts";
import { prepareShards, type ShardData, type ShardLayout, type ShardRecord, shardTable } from "./shard4k.ts";
import { type PlanThresholds, resolvePlanOptions } from "../src/profiles.ts";

const HERE = new URL(".", import.meta.url).pathname;
const ROOT = new URL("..", import.meta.url).pathname;
const DENO = Deno.execPath();
const BUN = `${ROOT}node_modules/.bin/bun`;
const BATCH = 65536;
const MiB = 2 ** 20;

interface Workload {
  name: string;
  title: string;
  fileBytes: number;
  reads: number;
  direct: boolean;
  cold: boolean;
  seed: number;
  /** Many shard files instead of one data file (shard4k); fileBytes is their total. */
  shards?: ShardLayout;
}

function workloads(quick: boolean): Workload[] {
  return [
    {
      name: "random4k",
      title: "random4k: random 4 KiB reads, page cache (hot)",
      fileBytes: (quick ? 64 : 256) * MiB,
      reads: quick ? 2 * BATCH : 16 * BATCH,
      direct: false,
      cold: false,
      seed: 1,
    },
    {
      name: "direct4k",
      title: "direct4k: random 4 KiB O_DIRECT reads, caches dropped (cold)",
      fileBytes: (quick ? 256 : 1024) * MiB,
      reads: quick ? 16384 : 200_000,
      direct: true,
      cold: true,
      seed: 2,
    },
    shardWorkload(quick),
  ];
}

/** shard4k: every 4 KiB chunk of half the shards of a sharded array, hot, read `passes` times. */
function shardWorkload(quick: boolean): Workload {
  const shards: ShardLayout = quick
    ? { count: 16, shardBytes: 4 * MiB, selected: 8, passes: 16 }
    : { count: 64, shardBytes: 4 * MiB, selected: 32, passes: 32 };
  const perPass = shards.selected * (shards.shardBytes / BLOCK);
  return {
    name: "shard4k",
    title: "shard4k: every 4 KiB chunk of half the shards of a sharded array, page cache (hot)",
    fileBytes: shards.count * shards.shardBytes,
    reads: perPass * shards.passes,
    direct: false,
    cold: false,
    seed: 3,
    shards,
  };
}

interface Impl {
  id: string;
  label: string;
  runtime: "deno" | "node" | "bun" | "fio" | "c";
  /** The command, given the spec as one JSON argument. */
  argv(spec: string): string[];
  /** Runs every read of the workload, whatever --peer-reads says. */
  full?: boolean;
  backend?: "io_uring" | "threads";
  /** "file" (default): the one-file workloads; "shards": shard4k. */
  kind?: "file" | "shards";
  /** LSIO's per-call plan option (shard4k). */
  plan?: false | PlanThresholds;
  /** fio: plain sequential reads of this many bytes over the selected shard files (no iolog; shard4k). */
  seqBs?: number;
  /** bench/pread_loop.c (shard4k): 256 KiB preads into the final array, or into one reused buffer. */
  preadInto?: "final" | "reuse";
}

const IMPLS: Impl[] = [
  {
    id: "lsio-deno",
    label: "LSIO readColumnar",
    runtime: "deno",
    full: true,
    argv: (s) => [DENO, "run", "-A", `${HERE}lsio_deno.ts`, s],
  },
  {
    id: "lsio-bun",
    label: "LSIO readColumnar",
    runtime: "bun",
    full: true,
    argv: (s) => [BUN, `${HERE}lsio_bun.ts`, s],
  },
  {
    id: "lsio-threads-deno",
    label: "LSIO readColumnar, threads backend",
    runtime: "deno",
    full: true,
    backend: "threads",
    argv: (s) => [DENO, "run", "-A", `${HERE}lsio_deno.ts`, s],
  },
  {
    id: "lsio-pool-deno",
    label: "LSIO WorkerPool.readInto, pinned worker per core",
    runtime: "deno",
    full: true,
    argv: (s) => [DENO, "run", "-A", `${HERE}lsio_pool_run.ts`, s],
  },
  {
    id: "lsio-pool-bun",
    label: "LSIO WorkerPool.readInto, pinned worker per core",
    runtime: "bun",
    full: true,
    argv: (s) => [BUN, `${HERE}lsio_pool_run.ts`, s],
  },
  { id: "fio", label: "fio io_uring (iolog replay)", runtime: "fio", full: true, argv: () => [] },
  {
    id: "deno-fsfile-sync",
    label: "Deno FsFile seekSync+readSync",
    runtime: "deno",
    argv: (s) => [DENO, "run", "-A", `${HERE}peer_deno.ts`, s],
  },
  {
    id: "deno-fsfile-async",
    label: "Deno FsFile await seek+read",
    runtime: "deno",
    argv: (s) => [DENO, "run", "-A", `${HERE}peer_deno.ts`, s],
  },
  { id: "node-readsync", label: "node:fs readSync", runtime: "node", argv: (s) => ["node", `${HERE}peer_node.mjs`, s] },
  {
    id: "node-promises",
    label: "node:fs promises read",
    runtime: "node",
    argv: (s) => ["node", `${HERE}peer_node.mjs`, s],
  },
  {
    id: "denonode-readsync",
    label: "node:fs readSync (Deno compat)",
    runtime: "deno",
    argv: (s) => [DENO, "run", "-A", `${HERE}peer_node.mjs`, s],
  },
  {
    id: "denonode-promises",
    label: "node:fs promises read (Deno compat)",
    runtime: "deno",
    argv: (s) => [DENO, "run", "-A", `${HERE}peer_node.mjs`, s],
  },
  { id: "bun-readsync", label: "node:fs readSync", runtime: "bun", argv: (s) => [BUN, `${HERE}peer_bun.ts`, s] },
  { id: "bun-promises", label: "node:fs promises read", runtime: "bun", argv: (s) => [BUN, `${HERE}peer_bun.ts`, s] },
  // shard4k: the same ids where the implementation is the same (--impls=lsio-deno picks both).
  // Plan on: the "ram" profile with its thresholds spelled out (src/profiles.ts), so the
  // row measures those thresholds whether or not the reader resolves profiles itself.
  ...[false as const, resolvePlanOptions({ profile: "ram" })].flatMap((plan): Impl[] => {
    const tag = plan ? "-plan" : "";
    const label = `LSIO readColumnar, plan ${plan ? "{profile: ram}" : "off"}`;
    return [
      {
        id: `lsio${tag}-deno`,
        label,
        runtime: "deno",
        full: true,
        kind: "shards",
        plan,
        argv: (s) => [DENO, "run", "-A", `${HERE}shard_lsio.ts`, s],
      },
      {
        id: `lsio${tag}-bun`,
        label,
        runtime: "bun",
        full: true,
        kind: "shards",
        plan,
        argv: (s) => [BUN, `${HERE}shard_lsio.ts`, s],
      },
    ];
  }),
  {
    id: "lsio-pool-deno",
    label: "LSIO WorkerPool.readInto, pinned worker per core",
    runtime: "deno",
    full: true,
    kind: "shards",
    argv: (s) => [DENO, "run", "-A", `${HERE}shard_lsio_pool.ts`, s],
  },
  {
    id: "lsio-pool-bun",
    label: "LSIO WorkerPool.readInto, pinned worker per core",
    runtime: "bun",
    full: true,
    kind: "shards",
    argv: (s) => [BUN, `${HERE}shard_lsio_pool.ts`, s],
  },
  { id: "fio", label: "fio io_uring bs=4k (iolog replay)", runtime: "fio", full: true, kind: "shards", argv: () => [] },
  {
    id: "fio-seq4k",
    label: "fio io_uring bs=4k sequential",
    runtime: "fio",
    full: true,
    kind: "shards",
    seqBs: 4096,
    argv: () => [],
  },
  {
    id: "fio-seq256k",
    label: "fio io_uring bs=256k sequential",
    runtime: "fio",
    full: true,
    kind: "shards",
    seqBs: 256 * 1024,
    argv: () => [],
  },
  {
    id: "pread-final",
    label: "C pread loop, 256 KiB pieces into the final array",
    runtime: "c",
    full: true,
    kind: "shards",
    preadInto: "final",
    argv: () => [],
  },
  {
    id: "pread-reuse",
    label: "C pread loop, 256 KiB pieces into one reused buffer",
    runtime: "c",
    full: true,
    kind: "shards",
    preadInto: "reuse",
    argv: () => [],
  },

  {
    id: "bun-readsync",
    label: "node:fs readSync 4 KiB",
    runtime: "bun",
    kind: "shards",
    argv: (s) => [BUN, `${HERE}shard_peer_fs.mjs`, s],
  },
];

/** The implementations of `impls` that run workload `w`. */
function implsFor(w: Workload, list: Impl[]): Impl[] {
  return list.filter((i) => (i.kind ?? "file") === (w.shards ? "shards" : "file"));
}

function usage(): never {
  console.log(`usage: deno run -A bench/main.ts [${workloads(false).map((w) => w.name).join("] [")}] [options]
  --quick            small sizes (smoke run, well under a minute)
  --qd=N             reads in flight for LSIO, fio and the async peers (default 64)
  --impls=a,b        only these implementations: ${[...new Set(IMPLS.map((i) => i.id))].join(", ")}
  --runtimes=a,b     only implementations on these runtimes (deno,node,bun,fio,c)
  --peer-reads=N     at most N reads for the runtime peers (default: all, like LSIO and fio)
  --repeat=N         run every implementation N times, interleaved; report the median (default 1)
  --out=DIR          write the JSON and SVG results there (default bench/results/, --quick: bench/results/quick/)`);
  Deno.exit(0);
}

const { values: opts, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    quick: { type: "boolean", default: false },
    qd: { type: "string", default: "64" },
    impls: { type: "string" },
    runtimes: { type: "string" },
    "peer-reads": { type: "string" },
    repeat: { type: "string", default: "1" },
    out: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (opts.help) usage();
const qd = Number(opts.qd);
if (!Number.isInteger(qd) || qd < 1 || qd > 4096) throw new RangeError(`--qd is an integer in 1..4096, got ${opts.qd}`);
const peerReads = opts["peer-reads"] === undefined ? Infinity : Number(opts["peer-reads"]);
if (!(peerReads > 0)) throw new RangeError(`--peer-reads is a positive integer, got ${opts["peer-reads"]}`);
const repeat = Number(opts.repeat);
if (!Number.isInteger(repeat) || repeat < 1) throw new RangeError(`--repeat is a positive integer, got ${opts.repeat}`);
const all = workloads(opts.quick);
const chosen = positionals.length ? positionals.map((n) => all.find((w) => w.name === n) ?? unknown(n)) : all;
function unknown(name: string): never {
  throw new Error(`Unknown workload ${name}; known: ${all.map((w) => w.name).join(", ")}`);
}
const implIds = opts.impls?.split(",").map((s) => s.trim());
const runtimes = opts.runtimes?.split(",").map((s) => s.trim());
for (const id of implIds ?? []) if (!IMPLS.some((i) => i.id === id)) throw new Error(`Unknown impl ${id}`);
const impls = IMPLS.filter((i) => (!implIds || implIds.includes(i.id)) && (!runtimes || runtimes.includes(i.runtime)));

function versionOf(cmd: string[]): string {
  try {
    const out = new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "piped", stderr: "null" }).outputSync();
    return new TextDecoder().decode(out.stdout).trim().replace(/^v/, "");
  } catch {
    return "not found";
  }
}
const versions: Record<string, string> = {
  deno: Deno.version.deno,
  node: versionOf(["node", "--version"]),
  bun: versionOf([BUN, "--version"]),
  fio: fioVersion() ?? "not found",
  c: "zig cc -O2",
};

let preadLoopPath: string | undefined;
const t0 = performance.now();
console.log(
  `LSIO bench${opts.quick ? " (quick)" : ""}: kernel ${Deno.osRelease()}, ${navigator.hardwareConcurrency} CPUs, ` +
    `QD ${qd}, batches of ${BATCH} chunks, ${repeat} run(s) each; deno ${versions.deno}, node ${versions.node}, bun ${versions.bun}, fio ${versions.fio}`,
);
const bar = new ProgressBar(chosen.reduce((n, w) => n + 1 + implsFor(w, impls).length * repeat, 0));

for (const w of chosen) {
  const records = await runWorkload(w);
  // Ratios against LSIO under Deno, or the first LSIO row that ran.
  const base = records.find((r) => r.impl === "lsio-deno" && r.status === "ok") ??
    records.find((r) => r.impl.startsWith("lsio-") && r.status === "ok");
  addRatios(records, base?.impl ?? "lsio-deno");
  const subtitle = `${w.reads.toLocaleString("en")} reads, QD ${qd}, ${new Date().toISOString().slice(0, 10)}` +
    (opts.quick ? " (quick)" : "");
  // Quick (smoke) runs and --out runs never overwrite the full results kept in the repo.
  const [json, chart] = writeResults(
    w.name,
    records,
    w.title,
    subtitle,
    opts.out ?? (opts.quick ? `${RESULTS_DIR}quick/` : RESULTS_DIR),
  );
  bar.done();
  if (w.shards) {
    const sh = w.shards;
    console.log(
      `\n${w.title}: ${w.reads.toLocaleString("en")} reads = ${sh.passes} passes over every 4 KiB chunk of ` +
        `${sh.selected} of ${sh.count} shard files of ${sh.shardBytes / MiB} MiB (${w.fileBytes / MiB} MiB in all)`,
    );
  } else {
    console.log(`\n${w.title}: ${w.reads.toLocaleString("en")} reads over a ${w.fileBytes / MiB} MiB file`);
  }
  console.log(table(records));
  if (w.shards) console.log(`\n${shardTable(records as ShardRecord[], w.shards.passes)}`);
  const fio = records.find((r) => r.impl === "fio")?.chunks_per_s;
  const fioSeq = records.find((r) => r.impl === "fio-seq256k")?.chunks_per_s;
  for (const r of records.filter((r) => r.impl.startsWith("lsio-") && r.chunks_per_s)) {
    if (fio) console.log(`${r.label} (${r.runtime}) / fio: ${(r.chunks_per_s! / fio).toFixed(2)}x`);
    if (fioSeq) {
      console.log(`${r.label} (${r.runtime}) / fio 256k sequential: ${(r.chunks_per_s! / fioSeq).toFixed(2)}x`);
    }
  }
  const into = records.find((r) => r.impl === "pread-final")?.chunks_per_s;
  const reuse = records.find((r) => r.impl === "pread-reuse")?.chunks_per_s;
  if (into && reuse) {
    console.log(`C pread loop: into the final array / into one reused buffer: ${(into / reuse).toFixed(2)}x`);
    if (fioSeq) console.log(`C pread loop into the final array / fio 256k sequential: ${(into / fioSeq).toFixed(2)}x`);
  }
  const partial = records.filter((r) => r.status === "ok" && r.chunks < w.reads);
  if (partial.length) console.log(`fewer reads (chunks/s still comparable): ${partial.map((r) => r.impl).join(", ")}`);
  for (const r of records.filter((r) => r.status !== "ok")) console.log(`${r.status}: ${r.impl}: ${r.note}`);
  console.log(`-> ${json}\n-> ${chart}`);
}
bar.done();
console.log(`\ntotal ${((performance.now() - t0) / 1000).toFixed(1)} s`);

async function runWorkload(w: Workload): Promise<BenchRecord[]> {
  if (w.shards) return await runShardWorkload(w, w.shards);
  const data = `${DATA_DIR}${w.name}-${w.fileBytes / MiB}M.dat`;
  const index = `${DATA_DIR}${w.name}-${w.reads}.idx`;
  const iolog = `${DATA_DIR}${w.name}-${w.reads}.iolog`;
  bar.start(`${w.name}: data`);
  const made = ensureDataFile(data, w.fileBytes, (f) => bar.update(f * 0.8, "writing data file"));
  const idx = writeIndex(index, w.reads, w.fileBytes / BLOCK, w.seed);
  if (impls.some((i) => i.id === "fio")) writeIolog(iolog, data, idx, w.reads, BLOCK);
  let prep = `${made ? "wrote" : "reused"} ${data}`;
  if (!w.cold) {
    const res = warm(data);
    prep += `; page cache ${res === undefined ? "unknown (no fincore)" : `${(res * 100).toFixed(0)}% resident`}`;
  }
  bar.end(prep);
  return await rounds(w, implsFor(w, impls), async (impl) => {
    const reads = impl.full ? w.reads : Math.min(w.reads, peerReads);
    const { cache, note: cacheNote } = prepareCache(w, data);
    const rec = await runImpl(impl, w, { data, index, iolog, reads, cache });
    if (rec.status === "ok") rec.note = `${rec.note}; ${cacheNote}`;
    return rec;
  });
}

/** Runs every implementation `repeat` times, interleaved; the median record of each. */
async function rounds(w: Workload, list: Impl[], runOne: (impl: Impl) => Promise<BenchRecord>): Promise<BenchRecord[]> {
  const runs = new Map<string, BenchRecord[]>(list.map((i) => [i.id, []]));
  for (let round = 1; round <= repeat; round++) {
    for (const impl of list) {
      const done = runs.get(impl.id)!;
      const tag = repeat > 1 ? ` [run ${round}/${repeat}]` : "";
      bar.start(`${w.name}: ${impl.label} (${impl.runtime})${tag}`);
      if (done.length && done[0].status !== "ok") {
        bar.end(`${done[0].status} (not retried)`);
        continue;
      }
      const rec = await runOne(impl);
      done.push(rec);
      bar.end(
        rec.status === "ok"
          ? `${Math.round(rec.chunks_per_s!).toLocaleString("en")} chunks/s (${rec.chunks.toLocaleString("en")} reads)`
          : `${rec.status}: ${rec.note}`,
      );
    }
  }
  return list.map((i) => median(runs.get(i.id)!));
}

/** Drops the cache (cold workloads) or checks it is full (hot ones). */
function prepareCache(w: Workload, data: string): { cache: "hot" | "cold"; note: string } {
  if (w.cold) {
    const d = dropCache(data);
    return d.cold
      ? {
        cache: "cold",
        note: `cold: ${d.method} before the run, 0 pages resident (host-side caches of the virtual disk unknown)`,
      }
      : { cache: "hot", note: `NOT cold: ${d.method} left pages resident` };
  }
  const size = Deno.statSync(data).size;
  if (residentBytes(data) !== size) warm(data);
  const res = residentBytes(data);
  return {
    cache: "hot",
    note: res === undefined
      ? "hot: warmed by one read (fincore missing)"
      : `hot: ${(100 * res / size).toFixed(0)}% resident`,
  };
}

/** The run with the median chunks/s; the peak RSS of all runs. */
function median(recs: BenchRecord[]): BenchRecord {
  const ok = recs.filter((r) => r.status === "ok").sort((a, b) => a.chunks_per_s! - b.chunks_per_s!);
  if (ok.length === 0) return recs[0];
  if (ok.length === 1) return ok[0];
  const mid = { ...ok[Math.floor(ok.length / 2)] };
  mid.peak_rss_bytes = Math.max(...ok.map((r) => r.peak_rss_bytes ?? 0)) || null;
  mid.runs_chunks_per_s = recs.map((r) => r.chunks_per_s);
  const list = mid.runs_chunks_per_s.map((x) => (x === null ? "failed" : Math.round(x))).join(", ");
  mid.note = `median of ${recs.length} runs (${list} chunks/s); ${mid.note}`;
  return mid;
}

/** An empty record of `impl` on `w`. */
function newRecord(impl: Impl, w: Workload, cache: "hot" | "cold"): BenchRecord {
  return {
    workload: w.name,
    impl: impl.id,
    label: impl.label,
    runtime: impl.runtime,
    runtime_version: versions[impl.runtime],
    status: "ok",
    threads: null,
    os_threads: null,
    queue_depth: qd,
    chunks: 0,
    seconds: null,
    chunks_per_s: null,
    bytes_per_s: null,
    peak_rss_bytes: null,
    cache,
    ratio_vs_lsio: null,
    quick: opts.quick,
    note: "",
  };
}

async function runImpl(
  impl: Impl,
  w: Workload,
  o: { data: string; index: string; iolog: string; reads: number; cache: "hot" | "cold" },
): Promise<BenchRecord> {
  const rec = newRecord(impl, w, o.cache);
  const spec = JSON.stringify({
    impl: impl.id,
    data: o.data,
    index: o.index,
    reads: o.reads,
    qd,
    batch: BATCH,
    blockSize: BLOCK,
    direct: w.direct,
    backend: impl.backend,
  });
  const argv = impl.id === "fio" ? fioArgs({ iolog: o.iolog, qd, direct: w.direct, cold: w.cold }) : impl.argv(spec);
  if (versions[impl.runtime] === "not found") return { ...rec, status: "skipped", note: `${argv[0]} not found` };
  const started = performance.now();
  const ran = await run(argv, (done, total) => bar.update(done / total, `${done}/${total}`));
  const tail = ran.stderr.trim().split("\n").slice(-3).join(" | ");
  if (ran.code !== 0) return { ...rec, status: "failed", peak_rss_bytes: null, note: `exit ${ran.code}: ${tail}` };
  rec.peak_rss_bytes = ran.peakRssBytes ?? null;
  if (impl.id === "fio") {
    const f = parseFio(ran.stdout);
    if (f.chunks !== o.reads) return { ...rec, status: "failed", note: `fio did ${f.chunks} of ${o.reads} reads` };
    Object.assign(rec, {
      threads: 1,
      os_threads: ran.peakThreads ?? null,
      chunks: f.chunks,
      seconds: f.seconds,
      chunks_per_s: f.iops,
      bytes_per_s: f.bytes / f.seconds,
      note: `fio ${versions.fio}: 1 job (--thread), ioengine io_uring, iodepth ${qd}, read_iolog replay of the same ` +
        `reads, direct=${w.direct ? 1 : 0}, invalidate=${w.cold ? 1 : 0}; own buffers, not a slab; IOPS as fio reports`,
    });
    return rec;
  }
  return childRecord(rec, ran.stdout, tail, started);
}

/** Fills `rec` from a child's JSON line. */
function childRecord(rec: BenchRecord, stdout: string, tail: string, started: number): BenchRecord {
  const line = stdout.trim().split("\n").pop() ?? "";
  let out: Record<string, any>;
  try {
    out = JSON.parse(line);
  } catch {
    return { ...rec, status: "failed", note: `no JSON line on stdout (${tail})` };
  }
  rec.runtime_version = out.runtime_version ?? rec.runtime_version;
  if (out.skipped) return { ...rec, status: "skipped", peak_rss_bytes: null, note: out.reason };
  rec.peak_rss_bytes ??= out.peak_rss_self ?? null;
  const shard = rec as ShardRecord;
  if (out.reads_issued !== undefined) shard.reads_issued = out.reads_issued;
  if (out.plan_seconds !== undefined) shard.plan_seconds = out.plan_seconds;
  if (out.requests !== undefined) shard.requests = out.requests;
  if (out.planned_reads != null) shard.planned_reads = out.planned_reads;
  if (out.planned_bytes != null) shard.planned_bytes = out.planned_bytes;
  Object.assign(rec, {
    threads: out.io_threads,
    os_threads: out.os_threads,
    queue_depth: out.queue_depth,
    chunks: out.chunks,
    seconds: out.seconds,
    chunks_per_s: out.chunks / out.seconds,
    bytes_per_s: out.bytes / out.seconds,
    note: `${out.note}; threads: ${out.threads_note}; ${out.verified} chunks of the last batch verified; process wall ${
      ((performance.now() - started) / 1000).toFixed(1)
    } s`,
  });
  return rec;
}

/** shard4k: the shard files, the read list, then every implementation. */
async function runShardWorkload(w: Workload, layout: ShardLayout): Promise<BenchRecord[]> {
  const list = implsFor(w, impls);
  bar.start(`${w.name}: data`);
  const data = prepareShards(
    w.name,
    layout,
    w.seed,
    list.some((i) => i.id === "fio"),
    (f, what) => bar.update(f, what),
  );
  bar.end(data.note);
  return await rounds(w, list, async (impl) => {
    const { cache, note: cacheNote } = shardCache(data);
    const rec = await runShardImpl(impl, w, layout, data, cache);
    if (rec.status === "ok") rec.note = `${rec.note}; ${cacheNote}`;
    return rec;
  });
}

/** Checks the shard files are all in the page cache (warms them otherwise). */
function shardCache(data: ShardData): { cache: "hot"; note: string } {
  const res = warmAll(data.paths);
  return {
    cache: "hot",
    note: res === undefined
      ? "hot: warmed by one read (fincore missing)"
      : `hot: ${(100 * res).toFixed(0)}% of the ${data.paths.length} shard files resident`,
  };
}

/** bench/pread_loop.c, built once per bench run with the repo's zig (memo: preadLoopPath). */
function preadLoop(): string {
  if (preadLoopPath) return preadLoopPath;
  const out = `${ROOT}.tmp/pread_loop`;
  Deno.mkdirSync(`${ROOT}.tmp`, { recursive: true });
  const zig = `${ROOT}.tools/ziglang/ziglang/zig`;
  const cc = new Deno.Command(zig, { args: ["cc", "-O2", "-std=c11", "-o", out, `${HERE}pread_loop.c`] }).outputSync();
  if (!cc.success) throw new Error(`zig cc bench/pread_loop.c: ${new TextDecoder().decode(cc.stderr)}`);
  return (preadLoopPath = out);
}

async function runShardImpl(
  impl: Impl,
  w: Workload,
  layout: ShardLayout,
  data: ShardData,
  cache: "hot",
): Promise<BenchRecord> {
  const rec = newRecord(impl, w, cache) as ShardRecord;
  // The runtime peers honour --peer-reads in whole passes.
  const passes = impl.full ? layout.passes : Math.max(1, Math.min(layout.passes, Math.floor(peerReads / data.perPass)));
  const requests = data.perPass * passes;
  rec.passes = passes;
  let argv: string[];
  if (impl.id === "fio") {
    argv = fioArgs({ iolog: data.iolog, qd, direct: false, cold: false });
  } else if (impl.seqBs) {
    argv = fioSeqArgs({ files: data.selectedPaths, bs: impl.seqBs, qd, loops: passes, cold: false });
  } else if (impl.preadInto) {
    argv = [preadLoop(), impl.preadInto, String(256 * 1024), String(passes), ...data.selectedPaths];
  } else {
    argv = impl.argv(JSON.stringify({
      impl: impl.id,
      data: data.selectedPaths[0],
      index: data.index,
      reads: requests,
      qd,
      batch: data.perPass,
      blockSize: BLOCK,
      direct: false,
      shards: data.paths,
      chunksPerShard: data.chunksPerShard,
      passes,
      plan: impl.plan,
    }));
  }
  if (versions[impl.runtime] === "not found") return { ...rec, status: "skipped", note: `${argv[0]} not found` };
  const started = performance.now();
  const ran = await run(argv, (done, total) => bar.update(done / total, `${done}/${total}`));
  const tail = ran.stderr.trim().split("\n").slice(-3).join(" | ");
  if (ran.code !== 0) return { ...rec, status: "failed", note: `exit ${ran.code}: ${tail}` };
  rec.peak_rss_bytes = ran.peakRssBytes ?? null;
  if (impl.runtime !== "fio") return childRecord(rec, ran.stdout, tail, started);
  const f = parseFio(ran.stdout);
  const bytes = requests * BLOCK;
  const seq = impl.seqBs;
  const expected = seq ? bytes / seq : requests;
  if (f.chunks !== expected) return { ...rec, status: "failed", note: `fio did ${f.chunks} of ${expected} reads` };
  Object.assign(rec, {
    threads: 1,
    os_threads: ran.peakThreads ?? null,
    // Sequential: 4 KiB chunk equivalents, so chunks/s compares with the per-chunk rows.
    chunks: requests,
    seconds: f.seconds,
    chunks_per_s: seq ? bytes / BLOCK / f.seconds : f.iops,
    bytes_per_s: f.bytes / f.seconds,
    requests,
    reads_issued: f.chunks,
    note: `fio ${versions.fio}: 1 job (--thread), ioengine io_uring, iodepth ${qd}, ` +
      (seq
        ? `rw=read bs=${seq / 1024}k over the ${data.selectedPaths.length} selected shard files one after the ` +
          `other (file_service_type=sequential), loops=${passes}: ` +
          (seq === BLOCK
            ? "the same reads as the iolog, generated by fio instead of replayed"
            : "what merged reads do; chunks/s = bytes / 4 KiB / s")
        : `read_iolog replay of the same ${requests} 4 KiB reads in the same order (${passes} passes); IOPS as fio reports`) +
      `; direct=0, invalidate=0; own buffers, not a final array`,
  });
  return rec;
}

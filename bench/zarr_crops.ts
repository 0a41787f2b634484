/**
 * zarr-crops: random 64×64 crops of a sharded Zarr v3 array (time × y × x,
 * uint16; 4 KiB raw inner chunks, and a zstd variant), read in batches of 64
 * crops by LSIO's batched reader, by zarrita over LsioStore and over its own
 * FileSystemStore (with and without withRangeCoalescing), and — installed
 * into .tools/pybench from PyPI, skipped with a message when that fails — by
 * zarr-python, zarr-python with the zarrs codec pipeline, and tensorstore,
 * all at the same thread count (the cores). Every row checks the sum of all
 * values it read against the others.
 *
 *   deno run -A bench/zarr_crops.ts [--quick] [--impls=lsio-batched,zarrita-fs,…] [--repeat=N] [--warmup=B] [--inflight=1|2]
 *                                   [--store=file|http|s3] [--latency=MS]
 *
 * --store=http serves the arrays with nginx and --store=s3 with versitygw (both
 * on 127.0.0.1, started here; for s3 the arrays are uploaded once with PUTs,
 * so the objects have ETags): every row then reads over the network — LSIO's
 * ShardedArray and LsioStore with URLs, zarrita with its FetchStore (over s3
 * with a SigV4-signing fetch, bench/sigv4.ts), zarr-python and zarrs with
 * obstore's stores, tensorstore with its http / s3 kvstores. Results:
 * zarr-crops-http.json, zarr-crops-s3.json. --latency=MS puts Toxiproxy in
 * front of nginx / versitygw, adding MS to every response (results:
 * zarr-crops-http-MSms.json, zarr-crops-s3-MSms.json).
 * Over the network the bench also times LSIO's Cache: an untimed first epoch
 * fills it, the second epoch is timed (a budget the array fits in, main
 * thread and pool; and a quarter of the array's bytes under S3-FIFO and under
 * LRU, with their hit ratios), beside LSIO's main thread on the local folder
 * (hot page cache), the reference the cached epoch is compared with.
 *
 * Each row runs in its own process, the variant's files read once right before
 * it (this machine pages out cold files in the background); with --repeat=N
 * each row runs N times and reports the median. Every row first reads B
 * untimed warm-up batches from the start of the crop list (default 16: JIT
 * and caches warm, a training loop's steady state; --warmup=1 times the
 * first epoch's shard-index loads too). Every row, JS and Python alike,
 * starts reading the next batch before it sums the current one (--inflight=2,
 * the default: an ML loader's read-ahead) or reads and sums one batch at a time
 * (--inflight=1). The LSIO rows use the loader API, ShardedArray.readBatches
 * (read-ahead, recycled outputs); zarrita's rows start the next batch's
 * zarr.get calls; the Python rows submit the next batch's reads (tensorstore
 * futures, a thread pool for zarr-python).
 *
 * Results: bench/results/zarr-crops.json (quick: bench/results/quick/).
 *
 * @module
 */
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { writeShardedArray } from "../zarr.ts";
import { DATA_DIR } from "./data.ts";
import { ProgressBar } from "./progress.ts";
import { RESULTS_DIR } from "./report.ts";
import { run } from "./spawn.ts";
import { ensurePythonPackages } from "./python.ts";
import { startNginx } from "../tests/_nginx.ts";
import { startVersitygw } from "../tests/_versitygw.ts";
import { startToxiproxy } from "./toxiproxy.ts";
import { uploadOnce } from "./sigv4.ts";

const HERE = new URL(".", import.meta.url).pathname;
const ROOT = new URL("..", import.meta.url).pathname;
const DENO = Deno.execPath();
const BUN = `${ROOT}node_modules/.bin/bun`;
const PYDIR = `${ROOT}.tools/pybench`;
// the newest zarr for Python 3.11, as measured; obstore for zarr-python's HTTP and S3 stores (--store=http|s3)
const PY_PACKAGES = ["zarr==3.1.6", "tensorstore==0.1.86", "zarrs==0.2.3", "obstore==0.12.1"];

const { values: opts } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    impls: { type: "string" },
    repeat: { type: "string", default: "1" },
    warmup: { type: "string", default: "16" },
    inflight: { type: "string", default: "2" },
    store: { type: "string", default: "file" },
    latency: { type: "string", default: "0" },
  },
});
/** Where the arrays are read from: the folders, nginx over them (http), or versitygw over them (s3). */
const store = opts.store as "file" | "http" | "s3";
if (!["file", "http", "s3"].includes(store)) throw new Error(`--store is file, http or s3, not ${store}`);
const only = opts.impls?.split(",");
const quick = opts.quick;
const repeat = Math.max(1, Number(opts.repeat) | 0);
const warmup = Math.max(1, Number(opts.warmup) | 0);
const inflight = Math.min(2, Math.max(1, Number(opts.inflight) | 0));
/** Added round-trip time (Toxiproxy's latency toxic in front of nginx or versitygw), in ms. */
const latency = Math.max(0, Number(opts.latency) | 0);
if (latency && store === "file") throw new Error("--latency needs --store=http or s3");
const resultName = `zarr-crops${store === "file" ? "" : `-${store}`}${latency ? `-${latency}ms` : ""}.json`;
const [T, H, W] = quick ? [8, 1024, 1024] : [16, 2048, 2048];
const COUNT = quick ? 2048 : 16384, BATCH = 64, SIZE = 64;
const threads = navigator.hardwareConcurrency;

// 1. Python peers, installed into the repo (never globally).
const pyProblem = ensurePythonPackages(PYDIR, PY_PACKAGES, ["zarr", "tensorstore", "zarrs", "obstore"]);

// 2. The data sets: the same values, raw and zstd inner chunks.
const variants = ["raw", "zstd"] as const;
const arrays: Record<string, string> = {};
for (const v of variants) {
  const where = `${DATA_DIR}zarr-crops-${T}x${H}x${W}-${v}`;
  arrays[v] = where;
  const stamp = `${where}/.complete`;
  if (fs.existsSync(stamp)) continue;
  console.log(
    `writing ${where} (${
      (T * H * W * 2 / 2 ** 20).toFixed(0)
    } MiB of uint16, shards 1×512×512, chunks 1×32×64 = 4 KiB, ${v})`,
  );
  const data = new Uint16Array(T * H * W);
  let seed = 12345;
  for (let i = 0; i < data.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const x = i % W, y = Math.floor(i / W) % H;
    data[i] = (x * 7 + y * 13 + (seed >>> 28)) & 0xffff; // smooth plus noise: compressible, not trivial
  }
  await writeShardedArray(where, data, {
    shape: [T, H, W],
    dtype: "uint16",
    shardShape: [1, 512, 512],
    chunkShape: [1, 32, 64],
    codecs: v,
  });
  fs.writeFileSync(stamp, "");
}
const crops = `${DATA_DIR}zarr-crops-${T}x${H}x${W}-${COUNT}.crops`;
{
  const c = new Int32Array(COUNT * 3);
  let seed = 777;
  const rnd = (n: number) => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) % n);
  for (let k = 0; k < COUNT; k++) c[3 * k] = rnd(T), c[3 * k + 1] = rnd(H - SIZE), c[3 * k + 2] = rnd(W - SIZE);
  fs.writeFileSync(crops, new Uint8Array(c.buffer));
}
/** Warms the page cache: every file of the array once. */
function warmArray(dir: string): void {
  for (const f of walk(dir)) fs.readFileSync(f);
}

function* walk(dir: string): Generator<string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) yield* walk(p);
    else yield p;
  }
}

interface Row {
  variant: string;
  impl: string;
  label: string;
  runtime: string;
  status: "ok" | "failed" | "skipped";
  crops_per_s?: number;
  mb_per_s?: number;
  checksum?: number;
  note?: string;
  ratio_vs_zarrita_fs?: number | null;
  hit_ratio?: number;
}
const rows: Row[] = [];
const IMPLS: { impl: string; label: string; kind: "deno" | "bun" | "python" }[] = [
  { impl: "lsio-batched", label: "LSIO ShardedArray.readBatches, worker pool", kind: "deno" },
  { impl: "lsio-batched", label: "LSIO ShardedArray.readBatches, worker pool", kind: "bun" },
  { impl: "lsio-batched-main", label: "LSIO ShardedArray.readBatches, main thread", kind: "deno" },
  { impl: "zarrita-lsio", label: "zarrita + LsioStore", kind: "deno" },
  { impl: "zarrita-fs", label: "zarrita + FileSystemStore", kind: "deno" },
  { impl: "zarrita-fs-coalesce", label: "zarrita + withRangeCoalescing(FileSystemStore)", kind: "deno" },
  { impl: "zarr-python", label: `zarr-python, ${threads} threads`, kind: "python" },
  { impl: "zarrs", label: `zarr-python + zarrs pipeline, ${threads} threads`, kind: "python" },
  { impl: "tensorstore", label: `tensorstore, ${threads} threads`, kind: "python" },
];
// Over the network: zarrita reads through its FetchStore instead of the file system (over s3 with a
// SigV4-signing fetch, bench/sigv4.ts: zarrita has no S3 store of its own).
if (store !== "file") {
  const signed = store === "s3" ? ", signing fetch" : "";
  IMPLS.splice(
    IMPLS.findIndex((i) => i.impl === "zarrita-fs"),
    2,
    { impl: "zarrita-fetch", label: `zarrita + FetchStore${signed}`, kind: "deno" as const },
    {
      impl: "zarrita-fetch-coalesce",
      label: `zarrita + withRangeCoalescing(FetchStore${signed})`,
      kind: "deno" as const,
    },
  );
  for (const i of IMPLS) {
    if (i.kind === "python" && i.impl !== "tensorstore") i.label += " (obstore store)";
  }
}
/** The cached rows (network stores only): the budget, as a fraction of the array's stored bytes, and the policy. */
const CACHED: Record<string, { fraction: number; policy: "s3fifo" | "lru" }> = {
  "lsio-cached-main": { fraction: 1.5, policy: "s3fifo" },
  "lsio-cached-pool": { fraction: 1.5, policy: "s3fifo" },
  "lsio-cached-main-s3fifo-25": { fraction: 0.25, policy: "s3fifo" },
  "lsio-cached-main-lru-25": { fraction: 0.25, policy: "lru" },
};
if (store !== "file") {
  IMPLS.push(
    { impl: "lsio-local-main", label: "LSIO main thread, local folder (hot page cache)", kind: "deno" },
    { impl: "lsio-cached-main", label: "LSIO main thread + Cache (fits), 2nd epoch", kind: "deno" },
    { impl: "lsio-cached-pool", label: "LSIO worker pool + Cache (fits), 2nd epoch", kind: "deno" },
    { impl: "lsio-cached-main-s3fifo-25", label: "LSIO main + Cache S3-FIFO, 25 % of the array", kind: "deno" },
    { impl: "lsio-cached-main-lru-25", label: "LSIO main + Cache LRU, 25 % of the array", kind: "deno" },
  );
}
const storedBytes = (dir: string) => [...walk(dir)].reduce((n, f) => n + fs.statSync(f).size, 0);
const S3 = { endpoint: "", accessKeyId: "benchkey", secretAccessKey: "benchsecret" };
let stopServer = async () => {};
const located: Record<string, string> = { ...arrays };
/** The folder the server reads each array from (warmed before each row): the array's own but for s3. */
const served: Record<string, string> = { ...arrays };
if (store === "http") {
  const nginx = await startNginx(DATA_DIR, fs.mkdtempSync("/tmp/lsio-crops-nginx-"));
  let base = nginx.url;
  stopServer = () => nginx.stop();
  if (latency) {
    const toxi = await startToxiproxy();
    base = `http://127.0.0.1:${await toxi.latencyProxy("crops", nginx.port, latency)}/`;
    stopServer = async () => {
      toxi.stop();
      await nginx.stop();
    };
  }
  for (const v of variants) located[v] = base + arrays[v].slice(DATA_DIR.length);
} else if (store === "s3") {
  // versitygw over a folder of its own, the arrays uploaded through its S3 API (PUTs): objects copied
  // straight into its folder have no ETag, and tensorstore's s3 kvstore insists on one.
  const root = `${DATA_DIR}s3-crops/`;
  fs.mkdirSync(root, { recursive: true });
  const gw = await startVersitygw(root, S3.accessKeyId, S3.secretAccessKey);
  S3.endpoint = gw.endpoint;
  stopServer = () => gw.stop();
  for (const v of variants) {
    // A bucket per array (its folder's name), the array at the bucket's root.
    const bucket = arrays[v].slice(DATA_DIR.length);
    located[v] = `s3://${bucket}`;
    served[v] = root + bucket;
    const files = [...walk(arrays[v])].filter((f) => !f.endsWith("/.complete"));
    const objects = files.map((file) => ({ key: file.slice(arrays[v].length + 1), file }));
    await uploadOnce(S3, bucket, objects, `${root}${bucket}.uploaded`);
  }
  if (latency) { // every row reads through Toxiproxy; the uploads above went straight to versitygw
    const toxi = await startToxiproxy();
    S3.endpoint = `http://127.0.0.1:${await toxi.latencyProxy("crops-s3", gw.port, latency)}`;
    stopServer = () => {
      toxi.stop();
      return gw.stop();
    };
  }
}
const chosen = IMPLS.filter((i) => !only || only.includes(i.impl) || only.includes(`${i.impl}-${i.kind}`));
const bar = new ProgressBar(chosen.length * variants.length * repeat);
for (const v of variants) {
  for (const { impl, label, kind } of chosen) {
    bar.start(`${v}: ${label} (${kind})`);
    const cached = CACHED[impl];
    const spec = JSON.stringify({
      impl,
      array: impl === "lsio-local-main" ? arrays[v] : located[v],
      ...(cached
        ? { cache: { bytes: Math.ceil(storedBytes(arrays[v]) * cached.fraction) + (4 << 20), policy: cached.policy } }
        : {}),
      ...(store === "s3" ? { s3: S3 } : {}),
      crops,
      count: COUNT,
      size: SIZE,
      batch: BATCH,
      threads,
      warmup,
      inflight,
    });
    if (kind === "python" && pyProblem) {
      rows.push({ variant: v, impl, label, runtime: "python", status: "skipped", note: pyProblem });
      bar.end(`skipped: ${pyProblem}`);
      continue;
    }
    const argv = kind === "deno"
      ? [DENO, "run", "-A", `${HERE}zarr_crops_child.ts`, spec]
      : kind === "bun"
      ? [BUN, `${HERE}zarr_crops_child.ts`, spec]
      : [
        "env",
        `PYTHONPATH=${PYDIR}`,
        ...(store === "s3"
          ? [`AWS_ACCESS_KEY_ID=${S3.accessKeyId}`, `AWS_SECRET_ACCESS_KEY=${S3.secretAccessKey}`]
          : []),
        "python3",
        `${HERE}zarr_crops_peer.py`,
        spec,
      ];
    let j: Record<string, any> | undefined, failed: string | undefined;
    const runs: number[] = [];
    for (let k = 0; k < repeat && !failed && !j?.skipped; k++) {
      if (k > 0) bar.start(`${v}: ${label} (${kind}) [run ${k + 1}/${repeat}]`);
      warmArray(impl === "lsio-local-main" ? arrays[v] : served[v]);
      const r = await run(argv, (d, t) => bar.update(d / t));
      const line = r.stdout.trim().split("\n").filter((l) => l.startsWith("{")).at(-1);
      if (r.code !== 0 || !line) failed = r.stderr.trim().split("\n").slice(-4).join(" | ");
      else {
        j = JSON.parse(line);
        if (!j!.skipped) runs.push(j!.crops_per_s);
        if (k < repeat - 1 && !j!.skipped) bar.end(`${Math.round(j!.crops_per_s)} crops/s`);
      }
    }
    if (failed || !j) {
      rows.push({ variant: v, impl, label, runtime: kind, status: "failed", note: failed });
      bar.end("FAILED");
      continue;
    }
    if (runs.length) j.crops_per_s = runs.sort((a, b) => a - b)[Math.floor(runs.length / 2)]; // the median
    if (j.skipped) {
      rows.push({ variant: v, impl, label, runtime: kind, status: "skipped", note: j.reason });
      bar.end(`skipped: ${j.reason}`);
      continue;
    }
    rows.push({
      variant: v,
      impl,
      label,
      runtime: `${j.runtime} ${j.runtime_version}`,
      status: "ok",
      crops_per_s: j.crops_per_s,
      mb_per_s: (j.crops_per_s * SIZE * SIZE * 2) / 1e6,
      checksum: j.checksum,
      ...(j.hit_ratio !== undefined ? { hit_ratio: j.hit_ratio } : {}),
    });
    bar.end(`${Math.round(j.crops_per_s)} crops/s`);
  }
}
bar.done();
await stopServer();

const fmt = (n: number) => Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
const bars: string[] = [];
for (const v of variants) {
  const rs = rows.filter((r) => r.variant === v);
  const ok = rs.filter((r) => r.status === "ok");
  const sums = new Set(ok.map((r) => r.checksum));
  // The reference: zarrita's checksum (over the network, zarr-python's when zarrita cannot read the store).
  const ref = (ok.find((r) => r.impl.startsWith("zarrita-f")) ?? ok.find((r) => r.impl === "zarr-python"))?.checksum;
  for (const r of ok) {
    if (ref !== undefined && r.checksum !== ref) {
      r.status = "failed";
      r.note = `checksum ${r.checksum} differs from the reference ${ref}`;
    }
  }
  // zarrita's best row on this store (FileSystemStore for files, FetchStore with or without coalescing over HTTP).
  const base = Math.max(
    0,
    ...ok.filter((r) => r.impl === "zarrita-fs" || r.impl.startsWith("zarrita-fetch")).map((r) => r.crops_per_s!),
  ) || undefined;
  const py = ok.find((r) => r.impl === "zarr-python")?.crops_per_s;
  const ts = ok.find((r) => r.impl === "tensorstore")?.crops_per_s;
  const zs = ok.find((r) => r.impl === "zarrs")?.crops_per_s;
  for (const r of rs) r.ratio_vs_zarrita_fs = base && r.crops_per_s ? r.crops_per_s / base : null;
  console.log(
    `\nzarr-crops (${v}): ${
      fmt(COUNT)
    } random ${SIZE}×${SIZE} crops of a ${T}×${H}×${W} uint16 array, batches of ${BATCH} after ${warmup} untimed, ${
      inflight === 2 ? "the next read while one is summed" : "one batch at a time"
    }, ${threads} threads${repeat > 1 ? `, median of ${repeat} runs` : ""}; ${
      sums.size === 1 ? "every row read the same values" : "CHECKSUMS DIFFER"
    }\n`,
  );
  const head = [
    "impl",
    "runtime",
    "crops/s",
    "MB/s",
    store === "file" ? "vs zarrita+FS" : "vs best zarrita",
    "vs tensorstore",
  ];
  const body = rs.map((r) =>
    r.status !== "ok" ? [r.label, r.runtime, r.status, "-", "-", "-"] : [
      r.label,
      r.runtime,
      fmt(r.crops_per_s!),
      r.mb_per_s!.toFixed(1),
      r.ratio_vs_zarrita_fs ? `${r.ratio_vs_zarrita_fs.toFixed(2)}x` : "-",
      ts ? `${(r.crops_per_s! / ts).toFixed(2)}x` : "-",
    ]
  );
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (c: string[]) => c.map((x, i) => (i < 2 ? x.padEnd(w[i]) : x.padStart(w[i]))).join("  ");
  console.log([line(head), w.map((n) => "-".repeat(n)).join("  "), ...body.map(line)].join("\n"));
  for (const r of rs.filter((r) => r.status !== "ok")) {
    console.log(`  ${r.label} (${r.runtime}): ${r.status}: ${r.note}`);
  }
  for (const r of ok.filter((r) => r.hit_ratio !== undefined)) {
    console.log(`  ${r.label}: ${(100 * r.hit_ratio!).toFixed(1)} % of the 2nd epoch's ranges from the cache`);
  }
  if (v === "raw") {
    // The batched reader's best configuration under Deno (worker pool or main thread), named in the bar.
    const best = ok.filter((r) => r.impl.startsWith("lsio-batched") && r.runtime.startsWith("deno"))
      .sort((a, b) => b.crops_per_s! - a.crops_per_s!)[0];
    const lsio = best?.crops_per_s;
    if (best) bars.push(`(LSIO row: ${best.label})`);
    const check = (what: string, value: number | undefined, min: number) =>
      bars.push(
        `${value !== undefined && value >= min ? "MET    " : "NOT MET"}  ${what}: ${
          value === undefined ? "n/a" : `${value.toFixed(2)}x`
        } (bar ${min}x)`,
      );
    if (store === "file") {
      check("LSIO batched reader vs zarrita + FileSystemStore", lsio && base ? lsio / base : undefined, 10);
      check("LSIO batched reader vs tensorstore", lsio && ts ? lsio / ts : undefined, 1);
      check("LSIO batched reader vs zarrs", lsio && zs ? lsio / zs : undefined, 1);
    } else {
      check("LSIO batched reader vs zarrita + FetchStore (best)", lsio && base ? lsio / base : undefined, 5);
      check("LSIO batched reader vs tensorstore", lsio && ts ? lsio / ts : undefined, 1);
      check("LSIO batched reader vs zarr-python + obstore", lsio && py ? lsio / py : undefined, 1);
      const local = ok.find((r) => r.impl === "lsio-local-main")?.crops_per_s;
      const cached = Math.max(
        0,
        ...ok.filter((r) => r.impl === "lsio-cached-main" || r.impl === "lsio-cached-pool").map((r) => r.crops_per_s!),
      ) || undefined;
      check("LSIO cached 2nd epoch vs LSIO local hot (main thread)", cached && local ? cached / local : undefined, 0.5);
    }
  }
}
console.log(
  `\nBars (issue ${store === "file" ? 6 : 14}, raw variant, store ${store}${latency ? `, +${latency} ms` : ""}):\n` +
    bars.join("\n"),
);
// Quick and --impls runs never overwrite the full results kept in the repo.
const outDir = quick ? `${RESULTS_DIR}quick/` : only ? `${RESULTS_DIR}partial/` : RESULTS_DIR;
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(
  `${outDir}${resultName}`,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      quick,
      repeat,
      warmup,
      inflight,
      shape: [T, H, W],
      count: COUNT,
      batch: BATCH,
      size: SIZE,
      threads,
      bars,
      rows,
    },
    null,
    2,
  ),
);
console.log(`\nwrote ${outDir}${resultName}`);

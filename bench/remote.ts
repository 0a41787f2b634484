/**
 * remote: small random ranges over the network, side by side against the same
 * server in one run (issue 14's `http-small` and `s3-small`).
 *
 *   http-small  2^17 random 4 KiB ranges over 1000 objects of 1 MiB, served by
 *               nginx; rows: LSIO (Deno, Bun: one readColumnar call, libcurl in
 *               the native core), obstore (Python, `get_range_async` with the
 *               same number in flight), the runtimes' `fetch` (that many loops
 *               each awaiting one ranged GET), `curl --parallel` (a floor: the
 *               bytes go to /dev/null); and two planned rows: LSIO with
 *               `plan: {}` (for URLs the cloud profile: it merges an object's ranges
 *               across gaps ≤ 1 MiB) beside obstore's `get_ranges_async` per
 *               object (object_store coalesces the same way); tensorstore's
 *               http kvstore (`KvStore.read` with a byte range, the same number
 *               in flight); zarrita's FetchStore.getRange loops; and LSIO left at
 *               its default in flight (64, doubled up to 256 while that pays:
 *               not a same-concurrency row). Both s3-small.
 *   https-small the http-small ranges from a second nginx over TLS (a certificate
 *               made here; HTTP/2 offered by ALPN): LSIO (`remote.caFile`), fetch
 *               (Deno: createHttpClient caCerts; Bun: tls.ca), zarrita, tensorstore
 *               (TENSORSTORE_CA_BUNDLE), curl (--cacert) trust it; obstore cannot be
 *               given a CA and runs with allow_invalid_certificates.
 *   s3-small    the same ranges from a versitygw bucket of the same bytes (PUT
 *               once through its S3 API, so the objects have ETags), signed (SigV4); rows: LSIO (Deno, Bun), obstore's S3Store,
 *               tensorstore's s3 kvstore, fetch and zarrita loops through a
 *               SigV4-signing fetch, `curl --parallel --aws-sigv4`.
 *   s3-large    8 objects of 256 MiB (quick: 32 MiB) read whole from the same
 *               versitygw, bytes/s: LSIO (one readColumnar call; the cloud
 *               profile splits each object into ranged GETs in flight at once),
 *               obstore (`get_async` of each object, and `get_ranges_async` in
 *               8 MiB parts), `curl --parallel` (to /dev/null). Bar: LSIO ≥ 0.9 ×
 *               the faster of obstore and curl. 2 GiB of objects: they are read
 *               once before each row, but this machine may page some of them out.
 *
 * Each at 0 ms added latency and, through Toxiproxy (latency toxic on the
 * responses), at 10 ms: the bar there is requests/s ≥ 0.8 × in-flight ÷ RTT.
 * Every row runs in its own process and checks the same checksum of what it
 * read (curl excepted). Beside the rate each small row reports CPU per range: its
 * own process's (all threads, the timed runs only; curl: the whole process) and the
 * server's (nginx or versitygw, from /proc, over the whole row). Server and client
 * share this machine's two cores, so a rate here is bounded by their sum; the
 * client's CPU per range is what bounds it where the server runs elsewhere. The objects (1 GiB) are written once under
 * bench/data/remote/ and read once before the runs, so they start in the page
 * cache; this machine may page some out while the rows run.
 *
 *   deno run -A bench/remote.ts [--quick] [--workloads=http-small,https-small,s3-small,s3-large] [--latency=0,10]
 *                               [--inflight=64] [--repeat=N] [--impls=lsio-deno,obstore,…]
 *
 * Results: bench/results/remote.json (quick: bench/results/quick/remote.json;
 * a subset of rows, workloads or latencies: bench/results/partial/remote.json).
 *
 * @module
 */
import * as fs from "node:fs";
import { Buffer } from "node:buffer";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { DATA_DIR } from "./data.ts";
import { RESULTS_DIR } from "./report.ts";
import { ensurePythonPackages } from "./python.ts";
import { makeCertificate, startNginx } from "../tests/_nginx.ts";
import { startVersitygw } from "../tests/_versitygw.ts";
import { startToxiproxy } from "./toxiproxy.ts";
import { uploadOnce } from "./sigv4.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const HERE = new URL(".", import.meta.url).pathname;
const DENO = Deno.execPath();
const BUN = `${ROOT}node_modules/.bin/bun`;
const PYDIR = `${ROOT}.tools/pyremote`;
const OBSTORE = "obstore==0.12.1";

const DEFAULT_WORKLOADS = "http-small,https-small,s3-small,s3-large";
const { values: opts } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    workloads: { type: "string", default: DEFAULT_WORKLOADS },
    latency: { type: "string", default: "0,10" },
    inflight: { type: "string", default: "64" },
    repeat: { type: "string", default: "1" },
    impls: { type: "string" },
  },
});
const quick = opts.quick;
const OBJECTS = quick ? 100 : 1000;
const OBJECT_BYTES = 1 << 20;
const REQUESTS = quick ? 1 << 13 : 1 << 17;
/** versitygw (the S3 server here) answers ≈ 700 signed GETs/s on this machine: s3-small asks fewer. */
const S3_REQUESTS = quick ? 1 << 11 : 1 << 14;
const SIZE = 4096;
const INFLIGHT = Number(opts.inflight);
const REPEAT = Math.max(1, Number(opts.repeat) | 0);
const only = opts.impls?.split(",");
const BUCKET = "bench";
/**
 * s3-small reads the same objects PUT through versitygw's S3 API into a bucket of their own (once; a stamp
 * file marks it): files copied straight into its folder have no ETag, and tensorstore's s3 kvstore insists on one.
 */
const S3_BUCKET = "benchput";
const KEY = "benchkey", SECRET = "benchsecret";

// 1. Data: OBJECTS files of 1 MiB (seeded bytes) in DATA_DIR/remote/bench/, and the ranges.
const dataRoot = `${DATA_DIR}remote/`;
const objDir = `${dataRoot}${BUCKET}/`;
fs.mkdirSync(objDir, { recursive: true });
const names = Array.from({ length: OBJECTS }, (_, i) => `o${String(i).padStart(4, "0")}`);
for (const [i, name] of names.entries()) {
  const p = objDir + name;
  if (fs.existsSync(p) && fs.statSync(p).size === OBJECT_BYTES) continue;
  const words = new Uint32Array(OBJECT_BYTES / 4);
  let seed = (i + 1) * 2654435761;
  for (let k = 0; k < words.length; k++) words[k] = seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  fs.writeFileSync(p, new Uint8Array(words.buffer));
}
for (const name of names) fs.readFileSync(objDir + name); // into the page cache
/** The seeded ranges (object, offset pairs) of a run of `count` requests, in a file the children read. */
function rangesFile(count: number): string {
  const file = `${dataRoot}ranges-${OBJECTS}-${count}.bin`;
  const pairs = new Int32Array(count * 2);
  let seed = 4242;
  const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
  for (let i = 0; i < count; i++) {
    pairs[2 * i] = rnd(OBJECTS);
    pairs[2 * i + 1] = rnd(OBJECT_BYTES / SIZE) * SIZE;
  }
  fs.writeFileSync(file, new Uint8Array(pairs.buffer));
  return file;
}

// s3-large: LARGE_OBJECTS objects of LARGE_BYTES (random bytes) in DATA_DIR/remote/benchlarge/.
const LARGE_OBJECTS = 8, LARGE_BYTES = (quick ? 32 : 256) << 20;
const LARGE_BUCKET = "benchlarge";
/** s3-large rows report the fastest of at least 3 runs: the first pays for connections and the slab's first touch. */
const LARGE_REPEAT = Math.max(3, REPEAT);
const largeNames = Array.from({ length: LARGE_OBJECTS }, (_, i) => `big${i}-${LARGE_BYTES >> 20}m`);
if (opts.workloads.split(",").includes("s3-large")) {
  fs.mkdirSync(`${dataRoot}${LARGE_BUCKET}`, { recursive: true });
  for (const name of largeNames) {
    const p = `${dataRoot}${LARGE_BUCKET}/${name}`;
    if (fs.existsSync(p) && fs.statSync(p).size === LARGE_BYTES) continue;
    const fd = fs.openSync(p, "w");
    const part = new Uint8Array(16 << 20);
    for (let at = 0; at < LARGE_BYTES; at += part.length) fs.writeSync(fd, fillRandom(part));
    fs.closeSync(fd);
  }
}
/** Fills `buf` with random bytes (getRandomValues takes at most 64 KiB at a time). */
function fillRandom(buf: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  for (let o = 0; o < buf.length; o += 65536) crypto.getRandomValues(buf.subarray(o, o + 65536));
  return buf;
}
/** Reads the large objects once, so a row starts with them in the page cache. */
function warmLarge(): void {
  const buf = Buffer.alloc(16 << 20);
  for (const name of largeNames) {
    const fd = fs.openSync(`${dataRoot}${LARGE_BUCKET}/${name}`, "r");
    while (fs.readSync(fd, buf) > 0) { /* into the page cache */ }
    fs.closeSync(fd);
  }
}

// 2. obstore into .tools/pyremote (never globally).
const pyProblem = ensurePythonPackages(PYDIR, [OBSTORE], ["obstore"]);
const TENSORSTORE = "tensorstore==0.1.86"; // as bench/zarr_crops.ts
const tsProblem = opts.workloads.split(",").some((w) => w.endsWith("-small"))
  ? ensurePythonPackages(PYDIR, [TENSORSTORE], ["tensorstore"])
  : undefined;

// 3. Servers: nginx and versitygw over the same folder; Toxiproxy in front for added latency.
const work = fs.mkdtempSync(path.join(Deno.env.get("TMPDIR") ?? "/tmp", "lsio-bench-remote-"));
const nginx = await startNginx(dataRoot, `${work}/nginx`);
// https-small: a second nginx over the same folder, TLS with a certificate made here (HTTP/2 offered by ALPN).
const tlsCert = opts.workloads.split(",").includes("https-small") ? makeCertificate(work) : undefined;
const nginxTls = tlsCert ? await startNginx(dataRoot, `${work}/nginx-tls`, { tls: tlsCert }) : undefined;
const versity = await startVersitygw(dataRoot, KEY, SECRET);
const vgPort = versity.port;
const toxi = await startToxiproxy();
const proxy = toxi.latencyProxy;
if (opts.workloads.split(",").includes("s3-small")) {
  const s3 = { endpoint: versity.endpoint, accessKeyId: KEY, secretAccessKey: SECRET };
  const objects = names.map((name) => ({ key: name, file: objDir + name }));
  await uploadOnce(s3, S3_BUCKET, objects, `${dataRoot}${S3_BUCKET}-${OBJECTS}.uploaded`);
  for (const name of names) fs.readFileSync(`${dataRoot}${S3_BUCKET}/${name}`); // into the page cache
}

interface Row {
  workload: string;
  latency_ms: number;
  impl: string;
  label: string;
  status: "ok" | "failed" | "skipped";
  requests: number;
  in_flight: number;
  seconds: number | null;
  requests_per_s: number | null;
  checksum: number | null;
  ratio_vs_lsio: number | null;
  /** s3-large: bytes read per second. */
  bytes_per_s?: number | null;
  /** The client process's CPU µs per range (all threads, timed runs; curl: the whole process). */
  client_cpu_us?: number | null;
  /** The server's (nginx, versitygw) CPU µs per range over the whole row. */
  server_cpu_us?: number | null;
  note: string;
}

/** What a row's process reports: the fastest run, the checksum, and CPU seconds over all timed runs. */
interface ChildResult {
  seconds: number;
  checksum: number | null;
  cpu?: number;
}

function runChild(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): ChildResult {
  const r = spawnSync(cmd, args, {
    encoding: "utf8",
    env: { ...Deno.env.toObject(), ...env },
    maxBuffer: 64 << 20,
    timeout: 30 * 60 * 1000,
  });
  if (r.status !== 0) {
    throw new Error(
      `${path.basename(cmd)} exited ${r.status ?? `on ${r.signal}`}: ${(r.stderr || "").trim().slice(-400)}`,
    );
  }
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
}

/** curl's SigV4 arguments for versitygw (the root account; it insists on x-amz-content-sha256). */
const CURL_SIGV4 = [
  "--aws-sigv4",
  "aws:amz:us-east-1:s3",
  "--user",
  `${KEY}:${SECRET}`,
  "-H",
  "x-amz-content-sha256: UNSIGNED-PAYLOAD",
];

/** CPU seconds (user + system, every thread) process `pid` has used so far, from /proc (clock ticks of 10 ms). */
function processCpu(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields from the 3rd on: utime is the 14th
  return (Number(f[11]) + Number(f[12])) / 100;
}

/**
 * `curl -s --fail --parallel --parallel-max N …args`, the fastest of `repeat` runs (`after` runs after each);
 * `cpu`: curl's CPU seconds over all runs, whole processes (bash's `times` of its children).
 */
function timedCurl(
  parallel: number,
  args: string[],
  repeat: number,
  after?: () => void,
): ChildResult {
  let best = Infinity, cpu = 0;
  for (let k = 0; k < repeat; k++) {
    const t = performance.now();
    const r = spawnSync(
      "bash",
      [
        "-c",
        'curl "$@"; rc=$?; times >&2; exit $rc',
        "curl",
        "-s",
        "--fail",
        "--parallel",
        "--parallel-max",
        String(parallel),
        ...args,
      ],
      { encoding: "utf8" },
    );
    best = Math.min(best, (performance.now() - t) / 1000);
    after?.();
    if (r.status !== 0) throw new Error(`curl exited ${r.status}: ${r.stderr}`);
    // `times`: the shell's user and system time, then its children's ("0m0.123s 0m0.045s").
    for (const [, m, sec] of r.stderr.trim().split("\n").at(-1)!.matchAll(/(\d+)m([\d.]+)s/g)) {
      cpu += Number(m) * 60 + Number(sec);
    }
  }
  return { seconds: best, checksum: null, cpu };
}

function runCurl(urls: string[], ranges: string, extra: string[]): ChildResult {
  const pairs = new Int32Array(new Uint8Array(fs.readFileSync(ranges)).buffer);
  const cfg = `${work}/curl.cfg`;
  const lines: string[] = [];
  for (let i = 0; i < pairs.length / 2; i++) {
    const s = pairs[2 * i + 1];
    lines.push(`url = "${urls[pairs[2 * i]]}"`, `range = "${s}-${s + SIZE - 1}"`, `output = "/dev/null"`);
  }
  fs.writeFileSync(cfg, lines.join("\n") + "\n");
  return timedCurl(INFLIGHT, [...extra, "--config", cfg], REPEAT);
}

const rows: Row[] = [];
const workloads = opts.workloads.split(",");
const latencies = opts.latency.split(",").map(Number);
for (const workload of workloads) {
  if (workload === "s3-large") {
    for (const ms of latencies) await runLarge(ms);
    continue;
  }
  const s3 = workload === "s3-small", tls = workload === "https-small";
  const requests = s3 ? S3_REQUESTS : REQUESTS;
  const ranges = rangesFile(requests);
  for (const ms of latencies) {
    const upstream = s3 ? vgPort : tls ? nginxTls!.port : nginx.port;
    const serverPid = s3 ? versity.child.pid! : tls ? nginxTls!.pid : nginx.pid;
    const port = ms > 0 ? await proxy(`${workload}-${ms}`, upstream, ms) : upstream;
    const base = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
    // https: every client trusts the bench's certificate (obstore cannot be given one: it skips verification).
    const caFile = tls ? tlsCert!.ca : undefined;
    const pyEnv = { PYTHONPATH: PYDIR, ...(caFile ? { TENSORSTORE_CA_BUNDLE: caFile } : {}) };
    const bucket = s3 ? S3_BUCKET : BUCKET;
    const urls = names.map((n) => `${base}/${bucket}/${n}`);
    const s3conf = { endpoint: base, accessKeyId: KEY, secretAccessKey: SECRET };
    const spec = (impl: string, concurrency = INFLIGHT) =>
      JSON.stringify({
        impl,
        paths: s3 ? names.map((n) => `s3://${bucket}/${n}`) : urls,
        ranges,
        size: SIZE,
        concurrency,
        repeat: REPEAT,
        ...(s3 ? { s3: s3conf } : {}),
        ...(caFile ? { caFile } : {}),
      });
    const pySpec = (grouped: boolean) =>
      JSON.stringify({
        grouped,
        base: `${base}/${bucket}/`,
        bucket,
        keys: names,
        ranges,
        size: SIZE,
        concurrency: INFLIGHT,
        repeat: REPEAT,
        ...(s3 ? { s3: s3conf } : {}),
        ...(tls ? { insecure: true } : {}),
      });
    const impls: { impl: string; label: string; run: () => ChildResult }[] = [
      {
        impl: "lsio-deno",
        label: "LSIO readColumnar (Deno)",
        run: () => runChild(DENO, ["run", "-A", `${HERE}remote_child.ts`, spec("lsio")]),
      },
      {
        impl: "lsio-bun",
        label: "LSIO readColumnar (Bun)",
        run: () => runChild(BUN, [`${HERE}remote_child.ts`, spec("lsio")]),
      },
      {
        // Not at the peers' concurrency: what a reader left at its default does (64, doubled while it pays).
        impl: "lsio-deno-default",
        label: "LSIO readColumnar, default in flight (64 … 256) (Deno)",
        run: () => runChild(DENO, ["run", "-A", `${HERE}remote_child.ts`, spec("lsio", 0)]),
      },
      {
        impl: "obstore",
        label: `obstore ${OBSTORE.split("==")[1]} get_range_async${tls ? ", certificate not verified" : ""} (Python)`,
        run: () => {
          if (pyProblem) throw new Error(pyProblem);
          return runChild("python3", [`${HERE}remote_peer.py`, pySpec(false)], pyEnv);
        },
      },
      // Planned rows: both libraries merge an object's ranges across gaps of up to 1 MiB (here that is
      // most of each object: 131 ranges of 4 KiB in 1 MiB), so they move more bytes and send far fewer GETs.
      {
        impl: "lsio-deno-planned",
        label: "LSIO readColumnar, plan: {} (cloud profile: merged) (Deno)",
        run: () => runChild(DENO, ["run", "-A", `${HERE}remote_child.ts`, spec("lsio-planned")]),
      },
      {
        impl: "obstore-ranges",
        label: `obstore get_ranges_async per object: coalesced${tls ? ", certificate not verified" : ""} (Python)`,
        run: () => {
          if (pyProblem) throw new Error(pyProblem);
          return runChild("python3", [`${HERE}remote_peer.py`, pySpec(true)], pyEnv);
        },
      },
      {
        impl: "tensorstore",
        label: `tensorstore ${TENSORSTORE.split("==")[1]} ${s3 ? "s3" : tls ? "https" : "http"} kvstore read (Python)`,
        run: () => {
          if (pyProblem ?? tsProblem) throw new Error(pyProblem ?? tsProblem);
          return runChild("python3", [`${HERE}remote_tensorstore.py`, pySpec(false)], pyEnv);
        },
      },
      // Over s3 every fetch is SigV4-signed in JavaScript (bench/sigv4.ts), as a user without an S3 SDK does.
      {
        impl: "fetch-deno",
        label: `fetch loops${s3 ? ", signed" : ""} (Deno)`,
        run: () => runChild(DENO, ["run", "-A", `${HERE}remote_child.ts`, spec("fetch")]),
      },
      {
        impl: "fetch-bun",
        label: `fetch loops${s3 ? ", signed" : ""} (Bun)`,
        run: () => runChild(BUN, [`${HERE}remote_child.ts`, spec("fetch")]),
      },
      {
        impl: "zarrita",
        label: `zarrita FetchStore.getRange loops${s3 ? ", signing fetch" : ""} (Deno)`,
        run: () => runChild(DENO, ["run", "-A", `${HERE}remote_child.ts`, spec("zarrita")]),
      },
      {
        impl: "curl",
        label: "curl --parallel (to /dev/null)",
        run: () =>
          runCurl(
            urls,
            ranges,
            s3 ? CURL_SIGV4 : caFile ? ["--cacert", caFile] : [],
          ),
      },
    ];
    for (const x of impls) {
      if (only && !only.includes(x.impl)) continue;
      const row: Row = {
        workload,
        latency_ms: ms,
        impl: x.impl,
        label: x.label,
        status: "ok",
        requests,
        in_flight: INFLIGHT,
        seconds: null,
        requests_per_s: null,
        checksum: null,
        ratio_vs_lsio: null,
        note: "",
      };
      try {
        const serverBefore = processCpu(serverPid);
        const r = x.run();
        row.seconds = r.seconds;
        row.requests_per_s = requests / r.seconds;
        row.checksum = r.checksum;
        // Every run of the row counts: the client's figure sums its timed runs, the server's the whole row.
        const ranges = requests * REPEAT;
        row.client_cpu_us = r.cpu === undefined ? null : (r.cpu / ranges) * 1e6;
        row.server_cpu_us = ((processCpu(serverPid) - serverBefore) / ranges) * 1e6;
      } catch (e) {
        row.status = (e as Error).message.includes("pip install") ? "skipped" : "failed";
        row.note = (e as Error).message;
      }
      rows.push(row);
      console.error(
        `${workload} ${ms} ms ${x.label}: ${row.requests_per_s?.toFixed(0) ?? row.status} req/s ${row.note}`,
      );
    }
    const lsio = rows.find((r) => r.workload === workload && r.latency_ms === ms && r.impl === "lsio-deno");
    const sums = new Set(
      rows.filter((r) => r.workload === workload && r.latency_ms === ms && r.checksum !== null).map((r) => r.checksum),
    );
    for (const r of rows.filter((r) => r.workload === workload && r.latency_ms === ms)) {
      if (lsio?.requests_per_s && r.requests_per_s) r.ratio_vs_lsio = r.requests_per_s / lsio.requests_per_s;
      if (sums.size > 1 && r.checksum !== null) r.note += " CHECKSUMS DIFFER";
    }
  }
}

/** s3-large at `ms` added latency: every object read whole by each row, bytes/s. */
async function runLarge(ms: number): Promise<void> {
  const port = ms > 0 ? await proxy(`s3-large-${ms}`, vgPort, ms) : vgPort;
  const base = `http://127.0.0.1:${port}`;
  const s3conf = { endpoint: base, accessKeyId: KEY, secretAccessKey: SECRET };
  const total = LARGE_OBJECTS * LARGE_BYTES;
  const childSpec = (concurrency: number) =>
    JSON.stringify({
      impl: "lsio-large",
      paths: largeNames.map((n) => `s3://${LARGE_BUCKET}/${n}`),
      objectBytes: LARGE_BYTES,
      concurrency,
      repeat: LARGE_REPEAT,
      s3: s3conf,
    });
  /** curl --parallel over the objects, each to `out(i)`; the fastest of LARGE_REPEAT runs. */
  const curlLarge = (out: (i: number) => string, after?: () => void) =>
    timedCurl(
      LARGE_OBJECTS,
      [...CURL_SIGV4, ...largeNames.flatMap((n, i) => [`${base}/${LARGE_BUCKET}/${n}`, "-o", out(i)])],
      LARGE_REPEAT,
      after,
    );
  // curl's floor discards the bytes; this row lands them in memory (tmpfs pages), as LSIO's slab holds them.
  const shm = (i: number) => `/dev/shm/lsio-bench-large-${Deno.pid}-${i}`;
  const dropShm = () => largeNames.forEach((_, i) => fs.rmSync(shm(i), { force: true }));
  const pySpec = (mode: string) =>
    JSON.stringify({
      mode,
      bucket: LARGE_BUCKET,
      keys: largeNames,
      objectBytes: LARGE_BYTES,
      repeat: LARGE_REPEAT,
      s3: s3conf,
    });
  const impls: { impl: string; label: string; run: () => ChildResult }[] = [
    {
      impl: "lsio-deno",
      label: "LSIO readColumnar, cloud profile (Deno)",
      run: () => runChild(DENO, ["run", "-A", `${HERE}remote_child.ts`, childSpec(INFLIGHT)]),
    },
    {
      impl: "lsio-deno-8",
      label: `LSIO readColumnar, ${LARGE_OBJECTS} in flight (curl's transfers)`,
      run: () => runChild(DENO, ["run", "-A", `${HERE}remote_child.ts`, childSpec(LARGE_OBJECTS)]),
    },
    {
      impl: "obstore",
      label: `obstore ${OBSTORE.split("==")[1]} get_async per object (Python)`,
      run: () => {
        if (pyProblem) throw new Error(pyProblem);
        return runChild("python3", [`${HERE}remote_peer.py`, pySpec("get")], { PYTHONPATH: PYDIR });
      },
    },
    {
      impl: "obstore-ranges",
      label: `obstore get_ranges_async, 8 MiB parts (Python)`,
      run: () => {
        if (pyProblem) throw new Error(pyProblem);
        return runChild("python3", [`${HERE}remote_peer.py`, pySpec("ranges")], { PYTHONPATH: PYDIR });
      },
    },
    {
      impl: "curl",
      label: "curl --parallel (to /dev/null)",
      run: () => curlLarge(() => "/dev/null"),
    },
    {
      impl: "curl-memory",
      label: "curl --parallel (to files in /dev/shm: the bytes in memory)",
      run: () => curlLarge(shm, dropShm),
    },
  ];
  for (const x of impls) {
    if (only && !only.includes(x.impl)) continue;
    const row: Row = {
      workload: "s3-large",
      latency_ms: ms,
      impl: x.impl,
      label: x.label,
      status: "ok",
      requests: LARGE_OBJECTS,
      in_flight: INFLIGHT,
      seconds: null,
      requests_per_s: null,
      bytes_per_s: null,
      checksum: null,
      ratio_vs_lsio: null,
      note: "",
    };
    try {
      warmLarge();
      const r = x.run();
      row.seconds = r.seconds;
      row.bytes_per_s = total / r.seconds;
      row.checksum = r.checksum;
    } catch (e) {
      row.status = (e as Error).message.includes("pip install") ? "skipped" : "failed";
      row.note = (e as Error).message;
    }
    rows.push(row);
    console.error(
      `s3-large ${ms} ms ${x.label}: ${
        row.bytes_per_s ? (row.bytes_per_s / 2 ** 20).toFixed(0) + " MiB/s" : row.status
      } ${row.note}`,
    );
  }
  const mine = rows.filter((r) => r.workload === "s3-large" && r.latency_ms === ms);
  const lsio = mine.find((r) => r.impl === "lsio-deno");
  const sums = new Set(mine.filter((r) => r.checksum !== null).map((r) => r.checksum));
  for (const r of mine) {
    if (lsio?.bytes_per_s && r.bytes_per_s) r.ratio_vs_lsio = r.bytes_per_s / lsio.bytes_per_s;
    if (sums.size > 1 && r.checksum !== null) r.note += " CHECKSUMS DIFFER";
  }
}

await nginx.stop();
await nginxTls?.stop();
await versity.stop();
toxi.stop();
fs.rmSync(work, { recursive: true, force: true });

const fmt = (n: number | null, d = 0) => (n === null ? "-" : n.toFixed(d));
console.log(
  `\nrandom ${SIZE}-byte ranges over ${OBJECTS} objects of 1 MiB (http-small ${REQUESTS}, s3-small ${S3_REQUESTS}), ` +
    `${INFLIGHT} in flight${quick ? " (quick)" : ""}`,
);
console.log(
  [
    "workload",
    "RTT+",
    "impl",
    "req/s (s3-large: MiB/s)",
    "vs LSIO",
    "client µs/range",
    "server µs/range",
    "checksum",
    "note",
  ]
    .join("\t"),
);
for (const r of rows) {
  console.log(
    [
      r.workload,
      `${r.latency_ms} ms`,
      r.label,
      r.workload === "s3-large" ? fmt(r.bytes_per_s ? r.bytes_per_s / 2 ** 20 : null) : fmt(r.requests_per_s),
      fmt(r.ratio_vs_lsio, 2),
      fmt(r.client_cpu_us ?? null, 1),
      fmt(r.server_cpu_us ?? null, 1),
      r.checksum ?? "-",
      r.note,
    ]
      .join("\t"),
  );
  if (r.impl === "lsio-deno" && r.latency_ms > 0 && r.requests_per_s) {
    const ideal = INFLIGHT / ((r.latency_ms + 0) / 1000);
    console.log(
      `\t\t(in flight ÷ added RTT = ${ideal.toFixed(0)} req/s: LSIO at ${(r.requests_per_s / ideal).toFixed(2)}×)`,
    );
  }
}
for (const workload of workloads.filter((w) => w !== "s3-large")) {
  for (const ms of latencies) {
    const at = rows.filter((r) => r.workload === workload && r.latency_ms === ms && r.requests_per_s);
    const rate = (impl: string) => at.find((r) => r.impl === impl)?.requests_per_s ?? undefined;
    const fetchBest = Math.max(0, ...at.filter((r) => r.impl.startsWith("fetch-")).map((r) => r.requests_per_s!));
    const say = (what: string, a: number | undefined, b: number | undefined, bar: number) => {
      if (a && b) console.log(`${workload} ${ms} ms: ${what} ${(a / b).toFixed(2)}× (bar ${bar}×)`);
    };
    say("LSIO (a GET per range) ÷ obstore get_range_async", rate("lsio-deno"), rate("obstore"), 1.2);
    say(
      "LSIO planned ÷ obstore get_ranges_async (both coalesce)",
      rate("lsio-deno-planned"),
      rate("obstore-ranges"),
      1.2,
    );
    say("LSIO (a GET per range) ÷ tensorstore kvstore reads", rate("lsio-deno"), rate("tensorstore"), 1.2);
    say("LSIO (a GET per range) ÷ the faster fetch loop", rate("lsio-deno"), fetchBest || undefined, 2);
    say("LSIO planned ÷ the faster fetch loop", rate("lsio-deno-planned"), fetchBest || undefined, 2);
    // The client's CPU per range: what bounds a rate where the server has cores of its own (not a bar).
    const cpu = (impl: string) => at.find((r) => r.impl === impl)?.client_cpu_us ?? undefined;
    const fastestFetch = at.filter((r) =>
      r.impl.startsWith("fetch-")
    ).sort((a, b) => b.requests_per_s! - a.requests_per_s!)[0];
    const lsioCpu = cpu("lsio-deno"), server = at.find((r) => r.impl === "lsio-deno")?.server_cpu_us;
    if (lsioCpu && fastestFetch?.client_cpu_us) {
      console.log(
        `${workload} ${ms} ms: client CPU per range, ${fastestFetch.impl} ÷ LSIO ${
          (fastestFetch.client_cpu_us / lsioCpu).toFixed(2)
        }× (LSIO ${lsioCpu.toFixed(1)} µs, ${fastestFetch.impl} ${fastestFetch.client_cpu_us.toFixed(1)} µs; ` +
          `the server ${server?.toFixed(1) ?? "-"} µs per LSIO range)`,
      );
    }
    if (lsioCpu && cpu("obstore")) {
      console.log(
        `${workload} ${ms} ms: client CPU per range, obstore ÷ LSIO ${(cpu("obstore")! / lsioCpu).toFixed(2)}×`,
      );
    }
  }
}
for (const ms of latencies) {
  const large = rows.filter((r) => r.workload === "s3-large" && r.latency_ms === ms && r.bytes_per_s);
  const rate = (impl: string) => large.find((r) => r.impl === impl)?.bytes_per_s;
  const lsio = rate("lsio-deno");
  // The bar's peers: obstore's rows and curl's floor (to /dev/null).
  const peer = Math.max(0, ...large.filter((r) => /^(obstore|curl$)/.test(r.impl)).map((r) => r.bytes_per_s!));
  if (lsio && peer) {
    const x = lsio / peer;
    console.log(
      `s3-large ${ms} ms: LSIO ${x.toFixed(2)}× the faster of obstore and curl: ${
        x >= 0.9 ? "MET" : "NOT MET"
      } (bar 0.9×)`,
    );
  }
  const same = rate("lsio-deno-8"), curl = rate("curl"), mem = rate("curl-memory");
  if (same && curl) {
    console.log(`s3-large ${ms} ms: LSIO at curl's ${LARGE_OBJECTS} transfers ÷ curl ${(same / curl).toFixed(2)}×`);
  }
  if (lsio && mem) console.log(`s3-large ${ms} ms: LSIO ÷ curl into memory (/dev/shm) ${(lsio / mem).toFixed(2)}×`);
}
// A subset (some rows, workloads or latencies) goes to partial/: it must not replace the full run's record.
const subset = only !== undefined || opts.workloads !== DEFAULT_WORKLOADS || opts.latency !== "0,10";
const out = quick ? `${RESULTS_DIR}quick/` : subset ? `${RESULTS_DIR}partial/` : RESULTS_DIR;
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(`${out}remote.json`, JSON.stringify({ date: new Date().toISOString(), rows }, null, 2) + "\n");
console.log(`\nresults: ${out}remote.json`);

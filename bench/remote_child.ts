/**
 * One row of bench/remote.ts, run under Deno or Bun: reads the spec's ranges
 * (4 KiB each, object index + offset pairs) into one slab, `repeat` times, and
 * prints `{ seconds, checksum, cpu }` (the fastest run; the checksum of the slab
 * outside the timing; `cpu`: this process's CPU seconds over all timed runs, so CPU per range is
 * cpu ÷ (ranges × repeat)). Impls: `lsio` (one readColumnar call, the native core's
 * libcurl, a GET per range), `lsio-planned` (the same call with `plan: {}`:
 * ranges merged per object as the cloud profile says), `fetch` (the runtime's fetch, `concurrency` loops each awaiting one
 * ranged GET at a time, bytes copied into the slab; over s3 each request SigV4-signed by bench/sigv4.ts), `zarrita`
 * (zarrita's FetchStore.getRange in the same loops, one store per object; over s3 with the same signing fetch).
 *
 * @module
 */
import * as fs from "node:fs";
import process from "node:process";
import FetchStore from "@zarrita/storage/fetch";
import { Reader } from "../mod.ts";
import { signedFetch } from "./sigv4.ts";

interface Spec {
  impl: "lsio" | "lsio-planned" | "fetch" | "zarrita" | "lsio-large";
  /** Object URLs (http://) or s3:// paths. */
  paths: string[];
  /** Int32 pairs: object index, byte offset. */
  ranges: string;
  size: number;
  concurrency: number;
  repeat: number;
  s3?: { endpoint: string; accessKeyId: string; secretAccessKey: string };
  /** https: the CA bundle every client trusts (LSIO's remote.caFile, the runtime's fetch). */
  caFile?: string;
  /** lsio-large: every path is read whole, this many bytes each. */
  objectBytes?: number;
}

const spec: Spec = JSON.parse(process.argv.at(-1)!);
/** This process's CPU seconds (user + system, every thread) summed over the timed runs. */
let cpuSeconds = 0;
/** Runs `run` once timed: returns its wall seconds and its result, and adds its process CPU time to `cpuSeconds`. */
async function timed<T>(run: () => Promise<T>): Promise<[number, T]> {
  const c = process.cpuUsage(), t = performance.now();
  const value = await run();
  const wall = (performance.now() - t) / 1000, used = process.cpuUsage(c);
  cpuSeconds += (used.user + used.system) / 1e6;
  return [wall, value];
}
if (spec.impl === "lsio-large") {
  console.log(JSON.stringify(await runLarge()));
  process.exit(0);
}
const pairs = new Int32Array(new Uint8Array(fs.readFileSync(spec.ranges)).buffer);
const n = pairs.length / 2;
// Prefaulted, as every bench slab is (and as Python's zero-filled bytearray is): the rows time the reads, not
// the first touch of 512 MiB of fresh pages.
const slab = new Uint8Array(n * spec.size).fill(1);

/** s3-large: the objects read whole into one slab by one readColumnar call (the cloud profile splits them). */
async function runLarge(): Promise<{ seconds: number; checksum: number; cpu: number }> {
  const size = spec.objectBytes!, k = spec.paths.length;
  await using reader = await Reader.open({
    remote: { inflight: spec.concurrency },
    ...(spec.s3 ? { s3: spec.s3 } : {}),
  });
  const big = new Uint8Array(k * size).fill(1); // prefaulted, as the small rows' slab
  const cols = {
    paths: spec.paths,
    file: Uint32Array.from({ length: k }, (_, i) => i),
    start: new Float64Array(k),
    end: new Float64Array(k).fill(size),
    dest: { buffer: big, offsets: Float64Array.from({ length: k }, (_, i) => i * size) },
  };
  let best = Infinity;
  for (let r = 0; r < spec.repeat; r++) {
    const [wall, res] = await timed(() => reader.readColumnar(cols, { plan: { profile: "cloud" } }));
    best = Math.min(best, wall);
    if (res.stats.failed) throw new Error(`${res.stats.failed} objects failed: ${res.error(0)?.message ?? ""}`);
  }
  return { seconds: best, checksum: largeChecksum(big), cpu: cpuSeconds };
}

/** The checksum every s3-large row computes: one byte in every 4096. */
function largeChecksum(buf: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < buf.length; i += 4096) s = (s * 31 + buf[i]) % 1_000_000_007;
  return s;
}

/** The same cheap checksum every row computes: three bytes of every chunk. */
function checksum(buf: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const o = i * spec.size;
    s = (s + buf[o] + buf[o + spec.size - 1] * 3 + buf[o + (spec.size >> 1)] * 7) % 1_000_000_007;
  }
  return s;
}

async function runLsio(): Promise<number> {
  await using reader = await Reader.open({
    // concurrency 0: the reader's default (small GETs from 64, doubled up to 256 while it pays).
    remote: { ...(spec.concurrency ? { inflight: spec.concurrency } : {}), caFile: spec.caFile },
    ...(spec.s3 ? { s3: spec.s3 } : {}),
  });
  const file = new Uint32Array(n),
    start = new Float64Array(n),
    end = new Float64Array(n),
    offsets = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    file[i] = pairs[2 * i];
    start[i] = pairs[2 * i + 1];
    end[i] = start[i] + spec.size;
    offsets[i] = i * spec.size;
  }
  let best = Infinity;
  for (let r = 0; r < spec.repeat; r++) {
    const [wall, res] = await timed(() =>
      reader.readColumnar(
        { paths: spec.paths, file, start, end, dest: { buffer: slab, offsets } },
        // lsio: every range its own GET (the HTTP engine alone); lsio-planned: `plan: {}`, the profile
        // detected — for URLs the cloud profile, which merges an object's ranges across gaps of up to
        // 1 MiB, as object_store's get_ranges does (the reader's default plan, "ordered", never adds gaps).
        { plan: spec.impl === "lsio" ? false : {} },
      )
    );
    best = Math.min(best, wall);
    if (res.stats.failed) throw new Error(`${res.stats.failed} chunks failed: ${res.error(0)?.message ?? ""}`);
  }
  return best;
}

/** The objects' URLs for the fetch rows (s3:// paths path-style under the endpoint), and the fetch to use. */
const urls = spec.paths.map((p) => spec.s3 && p.startsWith("s3://") ? `${spec.s3.endpoint}/${p.slice(5)}` : p);
const fetchOne = spec.s3 ? signedFetch(spec.s3) : trustingFetch(spec.caFile);

/** The runtime's fetch, trusting `caFile`'s certificates when given (Bun: `tls.ca`; Deno: an HTTP client with them). */
function trustingFetch(caFile: string | undefined): (r: Request) => Promise<Response> {
  if (caFile === undefined) return (r) => fetch(r);
  const ca = fs.readFileSync(caFile, "utf8");
  if ("Bun" in globalThis) return (r) => fetch(r, { tls: { ca } } as RequestInit);
  const client = Deno.createHttpClient({ caCerts: [ca] });
  return (r) => fetch(r, { client } as RequestInit);
}

/** `concurrency` loops, each reading range after range with `get(i, start)` into the slab. */
async function runLoops(get: (i: number, start: number) => Promise<Uint8Array>): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < spec.repeat; r++) {
    let next = 0;
    const [wall] = await timed(() =>
      Promise.all(Array.from({ length: spec.concurrency }, async () => {
        for (let i = next++; i < n; i = next++) slab.set(await get(i, pairs[2 * i + 1]), i * spec.size);
      }))
    );
    best = Math.min(best, wall);
  }
  return best;
}

function runFetch(): Promise<number> {
  return runLoops(async (i, s) => {
    const res = await fetchOne(
      new Request(urls[pairs[2 * i]], { headers: { range: `bytes=${s}-${s + spec.size - 1}` } }),
    );
    if (res.status !== 206) throw new Error(`status ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  });
}

function runZarrita(): Promise<number> {
  // One store per object (its URL the store's root, the key "/"): getRange as zarrita's array code calls it.
  const stores = urls.map((u) => {
    const cut = u.lastIndexOf("/");
    return { store: new FetchStore(u.slice(0, cut + 1), { fetch: fetchOne }), key: `/${u.slice(cut + 1)}` as const };
  });
  return runLoops(async (i, s) => {
    const { store, key } = stores[pairs[2 * i]];
    const bytes = await store.getRange(key, { offset: s, length: spec.size });
    if (!bytes || bytes.length !== spec.size) throw new Error(`range ${i}: ${bytes?.length ?? "missing"}`);
    return bytes;
  });
}

const seconds = spec.impl === "fetch"
  ? await runFetch()
  : spec.impl === "zarrita"
  ? await runZarrita()
  : await runLsio();
console.log(JSON.stringify({ seconds, checksum: checksum(slab), cpu: cpuSeconds }));

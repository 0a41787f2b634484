// One configuration of the pool benchmark (bench/pool.ts), the same file
// under Deno (`deno run -A bench/pool_child.ts <spec>`) and Bun
// (`bun bench/pool_child.ts <spec>`). Prints one JSON line.
//
// kinds:
//   random        pool.readInto: random 4 KiB reads of one hot file, batches
//                 of 65536, each chunk to its own place of a 256 MiB shared array
//   shard-sum     pool.transformInto: every chunk of the selected shards,
//                 summed as float32 by a JS transform into dest[i]
//   shard-native  pool.reduce: the same chunks, native float32 sum
//   shard-read    pool.readInto: the same chunks into one final array, no transform
//   mean          pool.reduce over whole files in `piece`-byte pieces: mean as float32
//   peer-sum      what a user writes without LSIO: node:fs readSync of each
//                 chunk into a reused buffer and the same JS sum, one thread
import * as fs from "node:fs";
import process from "node:process";
import { Buffer } from "node:buffer";
import * as c from "./child.mjs";

export interface PoolSpec {
  impl: string;
  kind: "random" | "shard-sum" | "shard-native" | "shard-read" | "mean" | "peer-sum";
  workers: number;
  pin: boolean;
  /** Reads in flight per worker. */
  qd: number;
  /** random: the data file and its Uint32 block index. */
  data?: string;
  index?: string;
  reads?: number;
  /** shard kinds / mean: the files; shards are read chunk by chunk (4 KiB), mean files in pieces. */
  files?: string[];
  passes?: number;
  piece?: number;
  /** Worker buffer bytes (default: the pool's). */
  bufferBytes?: number;
}

const BLOCK = 4096;
const spec = JSON.parse(process.argv[process.argv.length - 1]) as PoolSpec;
const TRANSFORMS = new URL("./transforms.ts", import.meta.url).href;

/** Requests as columns: every `piece`-byte piece of every file, in order. */
function pieces(files: string[], piece: number) {
  const per = files.map((f) => Math.floor(fs.statSync(f).size / piece));
  const n = per.reduce((a, b) => a + b, 0);
  const file = new Uint32Array(n), start = new Float64Array(n), end = new Float64Array(n);
  let i = 0;
  per.forEach((count, f) => {
    for (let k = 0; k < count; k++, i++) {
      file[i] = f;
      start[i] = k * piece;
      end[i] = start[i] + piece;
    }
  });
  return { paths: files, file, start, end };
}

/** The JS sum the transform does, for checking its output. */
function sumF32(b: Uint8Array): number {
  const f = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  let a = 0, x = 0, y = 0, z = 0, i = 0;
  for (; i < f.length - 3; i += 4) a += f[i], x += f[i + 1], y += f[i + 2], z += f[i + 3];
  for (; i < f.length; i++) a += f[i];
  return Math.fround(a + x + y + z);
}

async function main(): Promise<void> {
  if (spec.kind === "peer-sum") return peerSum();
  const { WorkerPool } = await import("../mod.ts");
  const pool = await WorkerPool.open({
    workers: spec.workers,
    pin: spec.pin,
    queueDepth: spec.qd,
    ...(spec.bufferBytes ? { bufferBytes: spec.bufferBytes } : {}),
  });
  const pinned = pool.workers.map((w) => w.pinnedCpu).join(",");
  let chunks = 0, bytes = 0, prepare = 0, stolen = 0, verified = 0;
  const perWorker = new Array(spec.workers).fill(0);
  const note: string[] = [];
  const t0 = performance.now();
  if (spec.kind === "random") {
    const index = c.loadIndex(spec.index!, spec.reads!);
    const batch = 65536, n = index.length;
    const out = new Uint8Array(new SharedArrayBuffer(batch * BLOCK));
    c.prefault(out);
    const file = new Uint32Array(batch), offsets = new Float64Array(batch);
    for (let i = 0; i < batch; i++) offsets[i] = i * BLOCK;
    const start = new Float64Array(n), end = new Float64Array(n);
    for (let i = 0; i < n; i++) start[i] = index[i] * BLOCK, end[i] = start[i] + BLOCK;
    const t1 = performance.now();
    for (let s = 0; s < n; s += batch) {
      const e = Math.min(n, s + batch), m = e - s;
      const r = await pool.readInto({
        paths: [spec.data!],
        file: file.subarray(0, m),
        start: start.subarray(s, e),
        end: end.subarray(s, e),
        dest: { buffer: out, offsets: offsets.subarray(0, m) },
      });
      if (r.errors.size) throw [...r.errors.values()][0];
      account(r.stats);
      c.progress(e, n);
    }
    bytes = n * BLOCK;
    const v = c.verifyLastBatch(out, index, batch, BLOCK);
    if (v.bad) throw new Error(`${v.bad} chunks hold the wrong block`);
    verified = v.checked;
    note.push(`${n} reads in batches of ${batch}; setup ${(t1 - t0).toFixed(0)} ms excluded`);
    return report(performance.now() - t1);
  }
  const passes = spec.passes ?? 1;
  const piece = spec.kind === "mean" ? spec.piece ?? 256 * 1024 : BLOCK;
  const req = pieces(spec.files!, piece);
  const n = req.file.length;
  if (spec.kind === "shard-sum") {
    const out = new Float32Array(new SharedArrayBuffer(n * 4));
    for (let p = 0; p < passes; p++) {
      const r = await pool.transformInto(req, {
        transform: { module: TRANSFORMS, name: "sumFloat32" },
        dtype: "float32",
        dest: out,
      });
      if (r.errors.size) throw [...r.errors.values()][0];
      account(r.stats);
      c.progress((p + 1) * n, passes * n);
    }
    const seconds = performance.now() - t0;
    // Check a sample of chunks against the same sum done here.
    const fds = spec.files!.map((f) => fs.openSync(f, "r"));
    const buf = new Uint8Array(BLOCK);
    for (let i = 0; i < n; i += 97, verified++) {
      fs.readSync(fds[req.file[i]], buf, 0, BLOCK, req.start[i]);
      if (sumF32(buf) !== out[i]) throw new Error(`chunk ${i}: sum ${out[i]}, expected ${sumF32(buf)}`);
    }
    fds.forEach((fd) => fs.closeSync(fd));
    bytes = passes * n * BLOCK;
    return report(seconds);
  }
  if (spec.kind === "shard-read") {
    const out = new Uint8Array(new SharedArrayBuffer(n * BLOCK));
    c.prefault(out);
    const offsets = Float64Array.from({ length: n }, (_, i) => i * BLOCK);
    for (let p = 0; p < passes; p++) {
      const r = await pool.readInto({ ...req, dest: { buffer: out, offsets } });
      if (r.errors.size) throw [...r.errors.values()][0];
      account(r.stats);
      c.progress((p + 1) * n, passes * n);
    }
    const seconds = performance.now() - t0;
    const fd = fs.openSync(spec.files![0], "r"), buf = new Uint8Array(BLOCK);
    for (let i = 0; i < n && req.file[i] === 0; i += 31, verified++) {
      fs.readSync(fd, buf, 0, BLOCK, req.start[i]);
      if (!Buffer.from(buf).equals(out.subarray(i * BLOCK, (i + 1) * BLOCK))) throw new Error(`chunk ${i} differs`);
    }
    fs.closeSync(fd);
    bytes = passes * n * BLOCK;
    return report(seconds);
  }
  // shard-native, mean: the native reduction.
  let sum = 0, elements = 0;
  for (let p = 0; p < passes; p++) {
    const r = await pool.reduce(req, { dtype: "float32", minmax: false });
    if (r.errors.size) throw [...r.errors.values()][0];
    account(r.stats);
    sum = r.sum, elements = r.elements;
    c.progress((p + 1) * n, passes * n);
  }
  const seconds = performance.now() - t0;
  bytes = passes * n * piece;
  if (elements !== n * piece / 4) throw new Error(`reduced ${elements} elements, expected ${n * piece / 4}`);
  verified = elements;
  note.push(`mean ${(sum / elements).toFixed(6)}`);
  return report(seconds);

  function account(s: import("../mod.ts").PoolStats) {
    chunks += s.chunks;
    prepare += s.prepareSeconds;
    s.workers.forEach((w, k) => {
      stolen += w.stolen;
      perWorker[k] += w.chunks;
    });
  }

  async function report(ms: number) {
    await pool.close();
    const seconds = ms / 1000;
    c.emit({
      impl: spec.impl,
      chunks,
      bytes,
      seconds,
      chunks_per_s: chunks / seconds,
      gb_per_s: bytes / seconds / 1e9,
      verified,
      note: [
        `${spec.workers} worker(s), ${spec.pin ? `pinned to CPU ${pinned}` : "not pinned"}, QD ${spec.qd} each` +
        (spec.bufferBytes ? `, ${spec.bufferBytes / 2 ** 20} MiB buffers` : ""),
        `chunks per worker ${perWorker.join("/")}, ${stolen} steals`,
        `prepare (resolve, group, tasks) ${(prepare * 1e3).toFixed(0)} ms in all`,
        ...note,
      ].join("; "),
      extra: { prepare_seconds: prepare, steals: stolen, per_worker: perWorker },
    });
  }
}

/** The hand-written peer: sync reads of each chunk into one buffer, the same JS sum, one thread. */
function peerSum(): void {
  const req = pieces(spec.files!, BLOCK);
  const n = req.file.length, passes = spec.passes ?? 1;
  const fds = spec.files!.map((f) => fs.openSync(f, "r"));
  const buf = new Uint8Array(new ArrayBuffer(BLOCK + 64), 0, BLOCK);
  const out = new Float32Array(n);
  const t0 = performance.now();
  for (let p = 0; p < passes; p++) {
    for (let i = 0; i < n; i++) {
      fs.readSync(fds[req.file[i]], buf, 0, BLOCK, req.start[i]);
      out[i] = sumF32(buf);
    }
    c.progress((p + 1) * n, passes * n);
  }
  const seconds = (performance.now() - t0) / 1000;
  fds.forEach((fd) => fs.closeSync(fd));
  c.emit({
    impl: spec.impl,
    chunks: n * passes,
    bytes: n * passes * BLOCK,
    seconds,
    chunks_per_s: (n * passes) / seconds,
    gb_per_s: (n * passes * BLOCK) / seconds / 1e9,
    verified: n,
    note: "node:fs readSync per 4 KiB chunk into a reused buffer, JS float32 sum; one thread",
  });
}

await main();

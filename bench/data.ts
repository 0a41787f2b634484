/**
 * Benchmark data under bench/data/: stamped data files (block b starts with
 * b as u32 LE and "LSIO", so every child can check it read the right block),
 * seeded random read lists, and page-cache control (warm, drop, measure).
 *
 * @module
 */
// node: builtins only, so the demo runs this under Deno and under Bun.
import * as fs from "node:fs";
import { spawnSync } from "node:child_process";

export const DATA_DIR = new URL("./data/", import.meta.url).pathname;
export const BLOCK = 4096;
const MAGIC = 0x4f49534c; // "LSIO" little-endian

function exists(path: string): number | undefined {
  try {
    return fs.statSync(path).size;
  } catch {
    return undefined;
  }
}

/** Reads the stamps of the first and last blocks. */
function stampsOk(path: string, bytes: number): boolean {
  if (exists(path) !== bytes) return false;
  const fd = fs.openSync(path, "r");
  try {
    const b = new Uint8Array(8);
    const v = new DataView(b.buffer);
    for (const blk of [0, bytes / BLOCK - 1]) {
      if (fs.readSync(fd, b, 0, 8, blk * BLOCK) !== 8) return false;
      if (v.getUint32(0, true) !== blk || v.getUint32(4, true) !== MAGIC) return false;
    }
    return true;
  } finally {
    fs.closeSync(fd);
  }
}

/** mulberry32: a small seeded 32-bit generator, plenty for read offsets. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/**
 * Makes (or reuses) a data file of `bytes` bytes: random bytes, each 4 KiB
 * block stamped. `onProgress(fraction)` while writing.
 */
export function ensureDataFile(path: string, bytes: number, onProgress: (f: number) => void): boolean {
  if (stampsOk(path, bytes)) return false;
  fs.mkdirSync(DATA_DIR, { recursive: true });
  const piece = 8 << 20;
  const buf = new Uint8Array(piece);
  const words = new Uint32Array(buf.buffer);
  const rnd = mulberry32(0x5eed);
  for (let i = 0; i < words.length; i++) words[i] = rnd();
  const view = new DataView(buf.buffer);
  const fd = fs.openSync(path, "w");
  try {
    for (let off = 0; off < bytes; off += piece) {
      const len = Math.min(piece, bytes - off);
      for (let p = 0; p < len; p += BLOCK) {
        view.setUint32(p, (off + p) / BLOCK, true);
        view.setUint32(p + 4, MAGIC, true);
      }
      let done = 0;
      while (done < len) done += fs.writeSync(fd, buf, done, len - done, off + done);
      onProgress((off + len) / bytes);
    }
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/** Writes `reads` uniformly random block indices in [0, blocks) to `path` (seeded, reproducible). */
export function writeIndex(path: string, reads: number, blocks: number, seed: number): Uint32Array {
  const rnd = mulberry32(seed);
  const idx = new Uint32Array(reads);
  for (let i = 0; i < reads; i++) idx[i] = rnd() % blocks;
  fs.mkdirSync(DATA_DIR, { recursive: true });
  fs.writeFileSync(path, new Uint8Array(idx.buffer));
  return idx;
}

/** Bytes of `path` resident in the page cache (fincore), or undefined if unknown. */
export function residentBytes(path: string): number | undefined {
  const out = spawnSync("fincore", ["--bytes", "--noheadings", "--output", "RES", path], { encoding: "utf8" });
  if (out.error || out.status !== 0) return undefined;
  const n = Number(out.stdout.trim());
  return Number.isFinite(n) ? n : undefined;
}

/** Reads the file once so it sits in the page cache; returns the resident fraction after. */
export function warm(path: string): number | undefined {
  const size = fs.statSync(path).size;
  if (residentBytes(path) !== size) {
    const fd = fs.openSync(path, "r");
    const buf = new Uint8Array(8 << 20);
    while (fs.readSync(fd, buf, 0, buf.length, null) > 0) { /* read to EOF */ }
    fs.closeSync(fd);
  }
  const res = residentBytes(path);
  return res === undefined ? undefined : res / size;
}

/**
 * Empties the page cache for `path`: `sync; echo 1 > /proc/sys/vm/drop_caches`
 * when that is writable, else POSIX_FADV_DONTNEED through `dd iflag=nocache`.
 * Returns how, and whether fincore then reports nothing resident.
 */
export function dropCache(path: string): { method: string; cold: boolean } {
  let method = "drop_caches";
  try {
    spawnSync("sync");
    fs.writeFileSync("/proc/sys/vm/drop_caches", "1\n");
  } catch {
    method = "fadvise DONTNEED (dd iflag=nocache)";
    const dd = spawnSync("dd", [`if=${path}`, "iflag=nocache", "count=0", "status=none"]);
    if (dd.error || dd.status !== 0) method = "none";
  }
  return { method, cold: residentBytes(path) === 0 };
}

/** Offsets of the shard4k stamps within each 4 KiB chunk: global chunk id (u32), "LSIO", shard, chunk. */
export const SHARD_STAMP = { id: 0, magic: 4, shard: 8, chunk: 12 } as const;

/** The path of shard `s` of a shard4k data set. */
export function shardPath(dir: string, s: number): string {
  return `${dir}/shard-${String(s).padStart(4, "0")}.bin`;
}

/**
 * Makes (or reuses) `count` shard files of `shardBytes` each in `dir`, laid
 * out like the shards of a sharded zarr array: 4 KiB chunks back to back.
 * Random bytes, each chunk stamped with its global chunk id
 * (`shard * chunksPerShard + chunk`, u32 LE, where the one-file data sets have
 * the block index), "LSIO", the shard and the chunk index. Returns the paths
 * and whether anything was written. `onProgress(fraction)` while writing.
 */
export function ensureShardFiles(
  dir: string,
  count: number,
  shardBytes: number,
  onProgress: (f: number) => void,
): { paths: string[]; made: boolean } {
  const cps = shardBytes / BLOCK;
  if (!Number.isInteger(cps)) throw new RangeError(`shard size ${shardBytes} is not a multiple of ${BLOCK}`);
  const paths = Array.from({ length: count }, (_, s) => shardPath(dir, s));
  fs.mkdirSync(dir, { recursive: true });
  const buf = new Uint8Array(shardBytes);
  const words = new Uint32Array(buf.buffer);
  const rnd = mulberry32(0x5ead);
  for (let i = 0; i < words.length; i++) words[i] = rnd();
  const view = new DataView(buf.buffer);
  let made = false;
  for (let s = 0; s < count; s++) {
    if (shardStampsOk(paths[s], s, cps)) continue;
    for (let c = 0; c < cps; c++) {
      const p = c * BLOCK;
      view.setUint32(p + SHARD_STAMP.id, s * cps + c, true);
      view.setUint32(p + SHARD_STAMP.magic, MAGIC, true);
      view.setUint32(p + SHARD_STAMP.shard, s, true);
      view.setUint32(p + SHARD_STAMP.chunk, c, true);
    }
    const fd = fs.openSync(paths[s], "w");
    try {
      let done = 0;
      while (done < shardBytes) done += fs.writeSync(fd, buf, done, shardBytes - done, done);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    made = true;
    onProgress((s + 1) / count);
  }
  return { paths, made };
}

/** The first and last chunk of shard `s` carry their stamps. */
function shardStampsOk(path: string, s: number, cps: number): boolean {
  if (exists(path) !== cps * BLOCK) return false;
  const fd = fs.openSync(path, "r");
  try {
    const b = new Uint8Array(16);
    const v = new DataView(b.buffer);
    for (const c of [0, cps - 1]) {
      if (fs.readSync(fd, b, 0, 16, c * BLOCK) !== 16) return false;
      if (
        v.getUint32(SHARD_STAMP.id, true) !== s * cps + c || v.getUint32(SHARD_STAMP.magic, true) !== MAGIC ||
        v.getUint32(SHARD_STAMP.shard, true) !== s || v.getUint32(SHARD_STAMP.chunk, true) !== c
      ) return false;
    }
    return true;
  } finally {
    fs.closeSync(fd);
  }
}

/** `selected` of `count` shards, chosen at random (seeded), in ascending order. */
export function selectShards(count: number, selected: number, seed: number): Uint32Array {
  const rnd = mulberry32(seed);
  const all = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = rnd() % (i + 1);
    [all[i], all[j]] = [all[j], all[i]];
  }
  return Uint32Array.from(all.slice(0, selected).sort((a, b) => a - b));
}

/**
 * The shard4k read list: every chunk of every selected shard, ordered by
 * (shard, chunk) as zarr readers produce them, as global chunk ids (u32) in
 * `path`. One pass; the children repeat it.
 */
export function writeShardIndex(path: string, shards: Uint32Array, chunksPerShard: number): Uint32Array {
  const idx = new Uint32Array(shards.length * chunksPerShard);
  let i = 0;
  for (const s of shards) for (let c = 0; c < chunksPerShard; c++) idx[i++] = s * chunksPerShard + c;
  fs.mkdirSync(DATA_DIR, { recursive: true });
  fs.writeFileSync(path, new Uint8Array(idx.buffer));
  return idx;
}

/** Bytes of all `paths` resident in the page cache (one fincore call), or undefined if unknown. */
export function residentBytesAll(paths: string[]): number | undefined {
  const out = spawnSync("fincore", ["--bytes", "--noheadings", "--output", "RES", ...paths], {
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  if (out.error || out.status !== 0) return undefined;
  const lines = out.stdout.trim().split("\n");
  if (lines.length !== paths.length) return undefined;
  let sum = 0;
  for (const l of lines) {
    const n = Number(l.trim());
    if (!Number.isFinite(n)) return undefined;
    sum += n;
  }
  return sum;
}

/** Reads every file of `paths` that is not fully cached; returns the resident fraction after. */
export function warmAll(paths: string[]): number | undefined {
  const total = paths.reduce((n, p) => n + fs.statSync(p).size, 0);
  if (residentBytesAll(paths) !== total) { for (const p of paths) warm(p); }
  const res = residentBytesAll(paths);
  return res === undefined ? undefined : res / total;
}

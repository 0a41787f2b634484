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

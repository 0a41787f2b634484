/**
 * Benchmark data under bench/data/: stamped data files (block b starts with
 * b as u32 LE and "LSIO", so every child can check it read the right block),
 * seeded random read lists, and page-cache control (warm, drop, measure).
 *
 * @module
 */
export const DATA_DIR = new URL("./data/", import.meta.url).pathname;
export const BLOCK = 4096;
const MAGIC = 0x4f49534c; // "LSIO" little-endian

function exists(path: string): number | undefined {
  try {
    return Deno.statSync(path).size;
  } catch {
    return undefined;
  }
}

/** Reads the stamps of the first and last blocks. */
function stampsOk(path: string, bytes: number): boolean {
  if (exists(path) !== bytes) return false;
  const f = Deno.openSync(path);
  try {
    const b = new Uint8Array(8);
    const v = new DataView(b.buffer);
    for (const blk of [0, bytes / BLOCK - 1]) {
      f.seekSync(blk * BLOCK, Deno.SeekMode.Start);
      if (f.readSync(b) !== 8 || v.getUint32(0, true) !== blk || v.getUint32(4, true) !== MAGIC) return false;
    }
    return true;
  } finally {
    f.close();
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
  Deno.mkdirSync(DATA_DIR, { recursive: true });
  const piece = 8 << 20;
  const buf = new Uint8Array(piece);
  const words = new Uint32Array(buf.buffer);
  const rnd = mulberry32(0x5eed);
  for (let i = 0; i < words.length; i++) words[i] = rnd();
  const view = new DataView(buf.buffer);
  const f = Deno.openSync(path, { write: true, create: true, truncate: true });
  try {
    for (let off = 0; off < bytes; off += piece) {
      const len = Math.min(piece, bytes - off);
      for (let p = 0; p < len; p += BLOCK) {
        view.setUint32(p, (off + p) / BLOCK, true);
        view.setUint32(p + 4, MAGIC, true);
      }
      let done = 0;
      while (done < len) done += f.writeSync(buf.subarray(done, len));
      onProgress((off + len) / bytes);
    }
    f.syncDataSync();
  } finally {
    f.close();
  }
  return true;
}

/** Writes `reads` uniformly random block indices in [0, blocks) to `path` (seeded, reproducible). */
export function writeIndex(path: string, reads: number, blocks: number, seed: number): Uint32Array {
  const rnd = mulberry32(seed);
  const idx = new Uint32Array(reads);
  for (let i = 0; i < reads; i++) idx[i] = rnd() % blocks;
  Deno.mkdirSync(DATA_DIR, { recursive: true });
  Deno.writeFileSync(path, new Uint8Array(idx.buffer));
  return idx;
}

/** Bytes of `path` resident in the page cache (fincore), or undefined if unknown. */
export function residentBytes(path: string): number | undefined {
  try {
    const out = new Deno.Command("fincore", {
      args: ["--bytes", "--noheadings", "--output", "RES", path],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    if (!out.success) return undefined;
    const n = Number(new TextDecoder().decode(out.stdout).trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the file once so it sits in the page cache; returns the resident fraction after. */
export function warm(path: string): number | undefined {
  const size = Deno.statSync(path).size;
  if (residentBytes(path) !== size) {
    const f = Deno.openSync(path);
    const buf = new Uint8Array(8 << 20);
    while (f.readSync(buf) !== null) { /* read to EOF */ }
    f.close();
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
    new Deno.Command("sync").outputSync();
    Deno.writeTextFileSync("/proc/sys/vm/drop_caches", "1\n");
  } catch {
    method = "fadvise DONTNEED (dd iflag=nocache)";
    try {
      new Deno.Command("dd", { args: [`if=${path}`, "iflag=nocache", "count=0", "status=none"] }).outputSync();
    } catch {
      method = "none";
    }
  }
  return { method, cold: residentBytes(path) === 0 };
}

// Shared fixtures for the tests: temp dirs, seeded randomness, files.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** mulberry32: a small seeded PRNG so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randInt(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

export function tempDir(prefix = "lsio-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Writes `size` pseudo-random bytes (seeded) and returns the path. */
export function writeRandomFile(dir: string, name: string, size: number, seed: number): string {
  const r = rng(seed);
  const bytes = new Uint8Array(size);
  const words = new Uint32Array(bytes.buffer, 0, size >> 2);
  for (let i = 0; i < words.length; i++) words[i] = (r() * 4294967296) >>> 0;
  for (let i = words.length * 4; i < size; i++) bytes[i] = (r() * 256) | 0;
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
}

/** Open file descriptors of this process. */
export function openFdCount(): number {
  return fs.readdirSync("/proc/self/fd").length;
}

/** Resident set size in bytes, from /proc. */
export function rssBytes(): number {
  const status = fs.readFileSync("/proc/self/status", "utf8");
  const m = status.match(/^VmRSS:\s+(\d+) kB/m);
  return m ? Number(m[1]) * 1024 : 0;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// Random files and random requests of every range kind, shared by the
// differential tests (local backends, and local against remote objects).
import * as fs from "node:fs";
import type { Buffer } from "node:buffer";
import { randInt, rng, tempDir, writeRandomFile } from "./_helpers.ts";

export interface Corpus {
  dir: string;
  paths: string[];
  contents: Buffer[];
}

/** Random files of sizes that matter (0, 1, around 512 and 4096, MiB and more) under a new temp dir. */
export function makeCorpus(seed: number, prefix = "lsio-diff-"): Corpus {
  const dir = tempDir(prefix);
  const r = rng(seed);
  const sizes = [0, 1, 511, 512, 4095, 4096, 4097, 65536, 1 << 20, (6 << 20) + 123];
  while (sizes.length < 40) sizes.push(randInt(r, 0, r() < 0.8 ? 256 << 10 : 5 << 20));
  const paths = sizes.map((size, i) => writeRandomFile(dir, `f${i}.bin`, size, seed + i));
  return { dir, paths, contents: paths.map((p) => fs.readFileSync(p)) };
}

/** A random request of one of the range kinds; lengths mostly small. */
/** The requests as the reader takes them (the test's own bookkeeping keys left out). */
export const plain = (reqs: { path: string; start?: number; end?: number }[]) =>
  reqs.map(({ path, start, end }) => ({ path, start, end }));

export function randomRequest(r: () => number, c: Corpus): { path: string; start?: number; end?: number; f: number } {
  const f = randInt(r, 0, c.paths.length - 1);
  const size = c.contents[f].length;
  const u = r();
  const len = u < 0.95 ? randInt(r, 0, 8192) : u < 0.999 ? randInt(r, 0, 256 << 10) : randInt(r, 0, 4 << 20);
  const s = randInt(r, 0, size);
  const path = c.paths[f];
  switch (randInt(r, 0, 9)) {
    case 0:
    case 1:
      return { path, f, start: s, end: Math.min(size, s + len) }; // inside the file
    case 2:
      return { path, f, start: Math.max(0, size - len) }; // positive start to EOF
    case 3:
      return { path, f, start: -Math.min(size, len) }; // last n bytes
    case 4: {
      const b = randInt(r, 0, Math.min(size, 4096)); // -a..-b
      return { path, f, start: -Math.min(size, b + len), end: -b };
    }
    case 5:
      return size <= 64 << 10 ? { path, f } : { path, f, start: s, end: s }; // whole (small) file, else empty
    case 6:
      return { path, f, start: s, end: s }; // zero-length
    case 7:
      return { path, f, start: s, end: size + 1 + randInt(r, 0, 4096) }; // past EOF
    case 8:
      return { path, f, start: -(size + 1 + randInt(r, 0, 100)) }; // before byte 0
    default:
      return { path, f, start: Math.max(0, size - len - 10), end: -randInt(r, 1, 10) }; // mixed signs
  }
}

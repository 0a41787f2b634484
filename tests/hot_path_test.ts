// The hot path (ReaderOptions.hotPath): small batches are served from the
// page cache on the calling thread; what is not cached is read by the
// reader's thread, once. Every result is checked against node:fs.
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { HOT_PATH_LIMITS, LsioError, Reader } from "../mod.ts";
import { assert, assertEquals, assertGreater, assertInstanceOf, assertLess, assertRejects } from "./_assert.ts";
import { bytesEqual, removeDir, tempDir, writeRandomFile } from "./_helpers.ts";
import { test } from "./_shim.ts";

const dir = tempDir("lsio-hot-");
const MiB = 2 ** 20;

/** A file whose pages are in the page cache (written, then read once). */
function hotFile(name: string, size: number, seed: number): string {
  const p = writeRandomFile(dir, name, size, seed);
  fs.readFileSync(p);
  return p;
}

/**
 * A file whose pages are not in the page cache: written, synced, then dropped
 * with `dd iflag=nocache`. False where the cache keeps them (tmpfs) or dd is
 * missing: the caller then expects it served hot.
 */
function coldFile(name: string, size: number, seed: number): { path: string; evicted: boolean } {
  const p = writeRandomFile(dir, name, size, seed);
  const fd = fs.openSync(p, "r");
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  const fsType = spawnSync("stat", ["-f", "-c", "%T", p], { encoding: "utf8" }).stdout?.trim();
  const dd = spawnSync("dd", [`if=${p}`, "iflag=nocache", "count=0", "status=none"]);
  return { path: p, evicted: dd.status === 0 && fsType !== "tmpfs" && fsType !== "ramfs" };
}

/** 4 KiB-ish ranges spread over a file, as columns. */
function ranges(file: number, count: number, size: number, len: number, at = 0) {
  const start = new Float64Array(count), end = new Float64Array(count), f = new Uint32Array(count).fill(file);
  for (let i = 0; i < count; i++) {
    start[i] = Math.floor(((i * 7919) % count) * (size - len) / count) + at;
    end[i] = start[i] + len;
  }
  return { file: f, start, end };
}

function concat(a: ReturnType<typeof ranges>, b: ReturnType<typeof ranges>) {
  const cat = <T extends Float64Array | Uint32Array>(x: T, y: T): T => {
    const out = new (x.constructor as new (n: number) => T)(x.length + y.length);
    out.set(x);
    out.set(y, x.length);
    return out;
  };
  return { file: cat(a.file, b.file), start: cat(a.start, b.start), end: cat(a.end, b.end) };
}

function checkAgainstFs(
  paths: string[],
  cols: ReturnType<typeof ranges>,
  chunk: (i: number) => Uint8Array | LsioError,
) {
  const files = paths.map((p) => fs.readFileSync(p));
  for (let i = 0; i < cols.file.length; i++) {
    const got = chunk(i);
    assert(got instanceof Uint8Array, `chunk ${i}: ${got}`);
    const want = files[cols.file[i]].subarray(cols.start[i], cols.end[i]);
    assert(bytesEqual(got, want), `chunk ${i} differs from node:fs`);
  }
}

test("hot path: a cached batch is served on the calling thread", async () => {
  const p = hotFile("hot1", MiB, 1);
  await using r = await Reader.open();
  const cols = ranges(0, 64, MiB, 4096);
  const res = await r.readColumnar({ paths: [p], ...cols });
  assertEquals(res.stats.failed, 0);
  assertEquals(res.stats.hotChunks, 64);
  assertEquals(res.stats.bytes, 64 * 4096);
  checkAgainstFs([p], cols, (i) => res.chunk(i));
  // The list API goes the same way (its sizes and layout too): same bytes.
  const list = await r.read([{ path: p, start: 100, end: 5000 }, { path: p, start: -300 }]);
  const whole = fs.readFileSync(p);
  assert(bytesEqual(list[0] as Uint8Array, whole.subarray(100, 5000)));
  assert(bytesEqual(list[1] as Uint8Array, whole.subarray(MiB - 300)));
});

test("hot path: chunks not cached are read by the reader's thread, each once", async () => {
  const hot = hotFile("hot2", MiB, 2);
  const cold = coldFile("cold2", 4 * MiB, 3);
  await using r = await Reader.open();
  const cols = concat(ranges(0, 16, MiB, 4096), ranges(1, 16, 4 * MiB, 5000));
  const res = await r.readColumnar({ paths: [hot, cold.path], ...cols }, { plan: false });
  assertEquals(res.stats.failed, 0);
  assertEquals(res.stats.chunks, 32);
  assertEquals(res.stats.bytes, 16 * 4096 + 16 * 5000);
  checkAgainstFs([hot, cold.path], cols, (i) => res.chunk(i));
  if (cold.evicted) {
    assertGreater(res.stats.hotChunks, 15, "the cached file's chunks were served hot");
    assertLess(res.stats.hotChunks, 32, "some of the evicted file's chunks went to the thread");
    // Each request read once: the hot pass's reads plus the redone ones.
    assertEquals(res.stats.readsIssued, 32 + (32 - res.stats.hotChunks));
    // A cold working set: the next eligible batch goes straight to the thread, the one after is tried hot again.
    const again = ranges(0, 8, MiB, 4096);
    assertEquals((await r.readColumnar({ paths: [hot], ...again })).stats.hotChunks, 0);
    assertEquals((await r.readColumnar({ paths: [hot], ...again })).stats.hotChunks, 8);
  } else {
    console.log("  (this filesystem keeps the file cached: everything was served hot)");
    assertEquals(res.stats.hotChunks, 32);
  }
});

test("hot path: planned batches (merged reads) with cold chunks come out whole", async () => {
  const hot = hotFile("hot3", MiB, 4);
  const cold = coldFile("cold3", 2 * MiB, 5);
  await using r = await Reader.open();
  // Back-to-back requests in order: the planner merges them into few reads.
  const n = 64, start = new Float64Array(2 * n), end = new Float64Array(2 * n), file = new Uint32Array(2 * n);
  for (let i = 0; i < 2 * n; i++) {
    file[i] = i < n ? 0 : 1;
    start[i] = (i % n) * 8192;
    end[i] = start[i] + 8192;
  }
  const res = await r.readColumnar({ paths: [hot, cold.path], file, start, end }, { plan: { profile: "ram" } });
  assertEquals(res.stats.failed, 0);
  assertLess(res.stats.plannedReads ?? Infinity, 2 * n, "reads were merged");
  checkAgainstFs([hot, cold.path], { file, start, end }, (i) => res.chunk(i));
  if (cold.evicted) assertLess(res.stats.hotChunks, 2 * n);
});

test("hot path: per-chunk errors are the same as on the reader's thread", async () => {
  const p = hotFile("hot4", 10_000, 6);
  const missing = path.join(dir, "missing");
  const reqs = [{ path: p, start: 0, end: 100 }, { path: missing, start: 0, end: 10 }, {
    path: p,
    start: 9000,
    end: 20_000,
  }];
  await using hotR = await Reader.open();
  await using threadR = await Reader.open({ hotPath: false });
  const a = await hotR.read(reqs), b = await threadR.read(reqs);
  assert(bytesEqual(a[0] as Uint8Array, b[0] as Uint8Array));
  for (const k of [1, 2]) {
    assertInstanceOf(a[k], LsioError);
    assertInstanceOf(b[k], LsioError);
    assertEquals((a[k] as LsioError).code, (b[k] as LsioError).code);
    assertEquals((a[k] as LsioError).message, (b[k] as LsioError).message);
  }
  assertEquals((a[1] as LsioError).code, "ENOENT");
  assertEquals((a[2] as LsioError).code, "ERANGE");
});

test("hot path: off, direct, and batches over its limits go to the reader's thread", async () => {
  const p = hotFile("hot5", 8 * MiB, 7);
  const small = ranges(0, 16, 8 * MiB, 4096);
  {
    await using r = await Reader.open({ hotPath: false });
    assertEquals((await r.readColumnar({ paths: [p], ...small })).stats.hotChunks, 0);
  }
  {
    await using r = await Reader.open({ direct: true });
    const res = await r.readColumnar({ paths: [p], ...ranges(0, 16, 8 * MiB, 4096) });
    assertEquals(res.stats.hotChunks, 0);
    checkAgainstFs([p], small, (i) => res.chunk(i));
  }
  await using r = await Reader.open();
  const many = ranges(0, HOT_PATH_LIMITS.chunks + 1, 8 * MiB, 64);
  assertEquals((await r.readColumnar({ paths: [p], ...many })).stats.hotChunks, 0, "too many chunks");
  const big = {
    file: new Uint32Array(1),
    start: new Float64Array([0]),
    end: new Float64Array([HOT_PATH_LIMITS.bytes + 1]),
  };
  const bigRes = await r.readColumnar({ paths: [p], ...big });
  assertEquals(bigRes.stats.hotChunks, 0, "too many bytes");
  checkAgainstFs([p], big, (i) => bigRes.chunk(i));
  // A whole file (open end): its size, so its bytes, are not known before the read.
  const whole = await r.readColumnar({ paths: [p], file: new Uint32Array(1), start: new Float64Array(1) });
  assertEquals(whole.stats.hotChunks, 0, "bytes not known in advance");
  assertEquals(whole.stats.bytes, 8 * MiB);
  // Within the limits: hot.
  assertEquals((await r.readColumnar({ paths: [p], ...small })).stats.hotChunks, 16);
  await assertRejects(() => Reader.open({ hotPath: "yes" as unknown as boolean }), TypeError);
});

test("hot path: cleanup", () => removeDir(dir));

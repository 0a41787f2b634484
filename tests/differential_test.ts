// Differential test: random files × ≥ 10^5 random ranges of every kind, read
// by LSIO and compared byte for byte with node:fs, on both backends, buffered
// and O_DIRECT.
import * as fs from "node:fs";
import { Buffer } from "node:buffer";
import { LsioError, Reader } from "../mod.ts";
import { assert, assertEquals } from "./_assert.ts";
import { randInt, removeDir, rng } from "./_helpers.ts";
import { makeCorpus, plain, randomRequest } from "./_ranges.ts";
import { expectRange } from "./_reference.ts";
import { env, test } from "./_shim.ts";

const SEED = Number(env("LSIO_TEST_SEED") ?? 20261124);
const RANGES_PER_CONFIG = 100_000;
const BATCH = 20_000;

const corpus = makeCorpus(SEED);

for (const backend of ["io_uring", "threads"] as const) {
  for (const direct of [false, true]) {
    for (const pastEof of ["error", "truncate"] as const) {
      const name = `differential: ${backend}, ${direct ? "O_DIRECT" : "buffered"}, pastEof=${pastEof}`;
      test(name, async () => {
        await using reader = await Reader.open({ backend, direct, pastEof });
        assertEquals(reader.info.backend, backend);
        // Half the ranges per pastEof policy: ≥ 10^5 per backend × mode.
        const r = rng(SEED ^ (backend === "threads" ? 1 : 0) ^ (direct ? 2 : 0) ^ (pastEof === "truncate" ? 4 : 0));
        let checked = 0, failures = 0;
        let phase = -1; // every chunk sits at the same offset modulo 64: the slab's alignment
        for (let done = 0; done < RANGES_PER_CONFIG / 2; done += BATCH) {
          const reqs = Array.from({ length: BATCH }, () => randomRequest(r, corpus));
          const results = await reader.read(plain(reqs));
          for (let i = 0; i < reqs.length; i++) {
            const q = reqs[i];
            const want = expectRange(corpus.contents[q.f].length, q.start ?? 0, q.end, pastEof === "truncate");
            const got = results[i];
            if (!want.ok) {
              if (!(got instanceof LsioError)) throw new Error(`expected ${want.code} for ${JSON.stringify(q)}`);
              assertEquals(got.code, want.code);
              assertEquals(got.path, q.path);
              failures++;
              continue;
            }
            if (!(got instanceof Uint8Array)) throw new Error(`request ${JSON.stringify(q)} failed: ${got.message}`);
            const expected = corpus.contents[q.f].subarray(want.offset, want.offset + want.length);
            if (!Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(expected)) {
              throw new Error(`bytes differ: ${JSON.stringify(q)}`);
            }
            if (phase < 0) phase = got.byteOffset % 64;
            if (got.byteOffset % 64 !== phase) throw new Error("chunks are not 64-byte aligned");
            checked++;
          }
        }
        assert(checked > RANGES_PER_CONFIG / 4, `only ${checked} ranges compared`);
        if (pastEof === "error") assert(failures > 0, "the random ranges include ranges past EOF");
      });
    }
  }
}

test("differential: readInto views of one array and readColumnar agree with node:fs pread", async () => {
  await using reader = await Reader.open();
  const r = rng(SEED + 99);
  const n = 5000;
  const files = new Uint32Array(n), start = new Float64Array(n), end = new Float64Array(n);
  const offsets = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const f = randInt(r, 0, corpus.paths.length - 1);
    const size = corpus.contents[f].length;
    const s = randInt(r, 0, size), len = Math.min(size - s, randInt(r, 0, 9000));
    files[i] = f;
    start[i] = s;
    end[i] = s + len;
    offsets[i] = total;
    total += len + randInt(r, 0, 3); // odd gaps: destinations not aligned on purpose
  }
  const big = new Uint8Array(total);
  const col = await reader.readColumnar({
    paths: corpus.paths,
    file: files,
    start,
    end,
    dest: { buffer: big, offsets },
  });
  const into = new Uint8Array(total);
  const res = await reader.readInto(
    Array.from(files, (f, i) => ({
      path: corpus.paths[f],
      start: start[i],
      end: end[i],
      dest: into.subarray(offsets[i], offsets[i] + end[i] - start[i]),
    })),
  );
  const fds = corpus.paths.map((p) => fs.openSync(p, "r"));
  try {
    for (let i = 0; i < n; i++) {
      const len = end[i] - start[i];
      const want = Buffer.alloc(len);
      assertEquals(fs.readSync(fds[files[i]], want, 0, len, start[i]), len);
      assertEquals(col.status[i], 0);
      assertEquals(col.lengthOf(i), len);
      assertEquals(res[i], len);
      assert(want.equals(big.subarray(offsets[i], offsets[i] + len)), `columnar chunk ${i} differs`);
      assert(want.equals(into.subarray(offsets[i], offsets[i] + len)), `readInto chunk ${i} differs`);
    }
  } finally {
    fds.forEach((fd) => fs.closeSync(fd));
  }
  assert(col.stats.misaligned > 0, "misaligned destinations are reported in stats");
});

// Planning must never change what a request gets: the same random requests
// (unordered, overlapping, duplicated, past EOF) read with and without a plan.
const PLANS = [
  { mergeGap: 0, mergeMax: 256 << 10, splitSize: 0 }, // adjacent + overlapping only
  { mergeGap: 4096, mergeMax: 64 << 10, splitSize: 0 }, // small gaps
  { mergeGap: 1 << 20, mergeMax: 8 << 20, splitSize: 0 }, // hdd-like: big merges through gaps
  { mergeGap: 512, mergeMax: 1 << 20, splitSize: 64 << 10 }, // with splitting
  { mergeGap: 0, mergeMax: 0, splitSize: 4096 }, // split only
];
for (const backend of ["io_uring", "threads"] as const) {
  for (const direct of [false, true]) {
    test(`differential: planned reads equal unplanned ones (${backend}, ${direct ? "O_DIRECT" : "buffered"})`, async () => {
      await using reader = await Reader.open({ backend, direct });
      const r = rng(SEED + 7 + (backend === "threads" ? 1 : 0) + (direct ? 2 : 0));
      for (const plan of PLANS) {
        // Bias towards neighbours in one file so merges, gaps and duplicates happen.
        const reqs = Array.from({ length: 4000 }, () => randomRequest(r, corpus));
        for (let i = 1; i < reqs.length; i += 3) reqs[i] = { ...reqs[i - 1] }; // duplicates
        const base = await reader.read(plain(reqs));
        const planned = await reader.read(plain(reqs), { plan });
        for (let i = 0; i < reqs.length; i++) {
          const a = base[i], b = planned[i];
          if (a instanceof LsioError || b instanceof LsioError) {
            if (!(a instanceof LsioError && b instanceof LsioError) || a.code !== b.code) {
              throw new Error(`plan ${JSON.stringify(plan)}: request ${JSON.stringify(reqs[i])}: ${a} vs ${b}`);
            }
            continue;
          }
          if (!Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)) {
            throw new Error(`plan ${JSON.stringify(plan)}: bytes differ for ${JSON.stringify(reqs[i])}`);
          }
        }
      }
    });
  }
}

test("differential: planned columnar reads into arbitrary destinations (readv) equal node:fs", async () => {
  await using reader = await Reader.open();
  const r = rng(SEED + 13);
  const n = 20_000;
  const f = corpus.contents.findIndex((c) => c.length > 1 << 20);
  const files = new Uint32Array(n).fill(f), start = new Float64Array(n), end = new Float64Array(n);
  const offsets = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = randInt(r, 0, (1 << 20) - 5000);
    start[i] = s;
    end[i] = s + randInt(r, 1, 4096);
  }
  // Destinations in a shuffled order, so file order and memory order differ.
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = randInt(r, 0, i);
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  let total = 0;
  for (const i of perm) {
    offsets[i] = total;
    total += end[i] - start[i] + randInt(r, 0, 100);
  }
  const big = new Uint8Array(total + 8192);
  const res = await reader.readColumnar(
    { paths: corpus.paths, file: files, start, end, dest: { buffer: big, offsets } },
    { plan: { mergeGap: 2048, mergeMax: 128 << 10 } },
  );
  assert(res.stats.plannedReads! < n, `planning merged reads (${res.stats.plannedReads} for ${n})`);
  for (let i = 0; i < n; i++) {
    const want = corpus.contents[f].subarray(start[i], end[i]);
    assertEquals(res.status[i], 0);
    if (!want.equals(big.subarray(offsets[i], offsets[i] + want.length))) throw new Error(`chunk ${i} differs`);
  }
});

test('differential: the default plan ("ordered") merges ordered batches only, and changes no byte', async () => {
  await using reader = await Reader.open();
  const r = rng(SEED + 21);
  const reqs = Array.from({ length: 6000 }, () => randomRequest(r, corpus));
  // In (file, offset) order, with duplicates: what a zarr shard reader produces.
  const sorted = reqs.map((q) => ({ ...q, key: expectRange(corpus.contents[q.f].length, q.start ?? 0, q.end, true) }))
    .sort((a, b) => a.f - b.f || (a.key.ok ? a.key.offset : 0) - (b.key.ok ? b.key.offset : 0));
  const ordered = await reader.read(plain(sorted));
  const asIs = await reader.read(plain(sorted), { plan: false });
  for (let i = 0; i < sorted.length; i++) {
    const a = ordered[i], b = asIs[i];
    if (a instanceof LsioError || b instanceof LsioError) {
      assertEquals((a as LsioError).code, (b as LsioError).code);
    } else if (!Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)) {
      throw new Error(`bytes differ for ${JSON.stringify(sorted[i])}`);
    }
  }
  // Stats: planned when ordered, not when shuffled.
  const n = 4096;
  const f = corpus.contents.findIndex((c) => c.length >= 4 << 20);
  const start = Float64Array.from({ length: n }, (_, i) => i * 1024);
  const end = start.map((x) => x + 1024);
  const inOrder = await reader.readColumnar({ paths: corpus.paths, file: new Uint32Array(n).fill(f), start, end });
  assert(inOrder.stats.plannedReads! < n / 100, `ordered batch merged: ${inOrder.stats.plannedReads} reads`);
  const shuffled = start.slice().reverse();
  const notInOrder = await reader.readColumnar({
    paths: corpus.paths,
    file: new Uint32Array(n).fill(f),
    start: shuffled,
    end: shuffled.map((x) => x + 1024),
  });
  assertEquals(notInOrder.stats.plannedReads, undefined, "an unordered batch is read as asked");
  assertEquals(notInOrder.stats.readsIssued, n);
});

test("differential: cleanup", () => removeDir(corpus.dir));

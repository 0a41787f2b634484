// The batched reader and the writer: every numeric zarr-python fixture and
// random selections of it equal zarrita's reading; generated arrays of every
// rank, data type, codec and index layout round-trip through zarrita and
// through the batched reader (main thread and worker pool); broken shard
// indexes are caught; missing shards and empty chunks read as fill.
import * as fs from "node:fs";
import * as path from "node:path";
import * as zarr from "zarrita";
import FileSystemStore from "@zarrita/storage/fs";
import { type NumericArray, WorkerPool } from "../mod.ts";
import { crc32c, type DimSelection, ShardedArray, writeShardedArray, ZarrFormatError } from "../zarr.ts";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { randInt, removeDir, rng, tempDir } from "./_helpers.ts";
import { env, test } from "./_shim.ts";
import { TYPED } from "../src/zarr/_meta.ts";
import { DTYPES } from "../src/dtype.ts";

const FIXTURES = env("LSIO_ZARR_FIXTURES") ?? new URL("./fixtures/zarr-python-v3/data.zarr", import.meta.url).pathname;
const NUMERIC = new Set<string>(DTYPES);
const dir = tempDir("lsio-zarr-");
const pool = await WorkerPool.open({ workers: 2 });

/** A random uint16 array of `shape`, written sharded under dir/name; its values and the array opened. */
async function randomUint16Array(
  r: () => number,
  name: string,
  shape: number[],
  shardShape: number[],
  chunkShape: number[],
) {
  const data = Uint16Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => randInt(r, 0, 65535));
  const where = path.join(dir, name);
  await writeShardedArray(where, data, { shape, dtype: "uint16", shardShape, chunkShape });
  return { data, where, arr: await ShardedArray.open(where) };
}

function fixtureArrays(): { name: string; meta: Record<string, unknown> }[] {
  const out: { name: string; meta: Record<string, unknown> }[] = [];
  for (const e of fs.readdirSync(FIXTURES, { withFileTypes: true })) {
    const p = path.join(FIXTURES, e.name, "zarr.json");
    if (!e.isDirectory() || !fs.existsSync(p)) continue;
    const meta = JSON.parse(fs.readFileSync(p, "utf8"));
    if (meta.node_type === "array") out.push({ name: e.name, meta });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

const plain = (a: ArrayLike<unknown> | Iterable<unknown>) =>
  Array.from(
    a as ArrayLike<unknown>,
    (v) => (typeof v === "bigint" ? `${v}n` : typeof v === "boolean" ? +v : Number.isNaN(v) ? "NaN" : v),
  );

/** The selection of C-order `data` of `shape`, by plain index arithmetic (independent of the reader). */
function naiveSelect(data: NumericArray, shape: number[], sel: DimSelection[] | null): unknown[] {
  const box = shape.map((n, d) => {
    const x = sel?.[d] ?? null;
    return x === null ? [0, n] : typeof x === "number" ? [x, x + 1] : x;
  });
  const out: unknown[] = [];
  const idx = box.map(([a]) => a);
  if (box.some(([a, b]) => a >= b)) return out;
  for (;;) {
    let flat = 0;
    for (let d = 0; d < shape.length; d++) flat = flat * shape[d] + idx[d];
    out.push((data as unknown as unknown[])[flat]);
    let d = shape.length - 1;
    for (; d >= 0; d--) {
      if (++idx[d] < box[d][1]) break;
      idx[d] = box[d][0];
    }
    if (d < 0) return out;
  }
}

/** zarrita's result in C order (a transpose codec leaves it strided). */
function cOrder(r: { data: ArrayLike<unknown>; shape: number[]; stride: number[] }): unknown[] {
  const out: unknown[] = [];
  const n = r.shape.reduce((a, b) => a * b, 1);
  const idx = new Array(r.shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    let at = 0;
    for (let d = 0; d < idx.length; d++) at += idx[d] * r.stride[d];
    const data = r.data as ArrayLike<unknown> & { get?: (i: number) => unknown }; // BoolArray: get(i)
    out.push(typeof data.get === "function" ? data.get(at) : data[at]);
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d] < r.shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** zarrita's answer for a selection (a scalar when every dimension is an index). */
async function zarritaGet(root: string, key: string, sel: DimSelection[] | null) {
  const arr = await zarr.open(zarr.root(new FileSystemStore(root)).resolve(key), { kind: "array" });
  const s = sel?.map((x) => (x === null ? null : typeof x === "number" ? x : zarr.slice(x[0], x[1])));
  return await zarr.get(arr, s ?? null);
}

function randomSelection(r: () => number, shape: number[]): DimSelection[] {
  return shape.map((n) => {
    const k = randInt(r, 0, 3);
    if (n === 0 || k === 0) return null;
    if (k === 1) return randInt(r, 0, n - 1);
    const a = randInt(r, 0, n - 1);
    return [a, randInt(r, a, n)] as [number, number];
  });
}

test("zarr: the batched reader equals zarrita on every numeric zarr-python fixture, whole and in random selections", async () => {
  const r = rng(61);
  let done = 0;
  const skipped: string[] = [];
  for (const { name, meta } of fixtureArrays()) {
    if (!NUMERIC.has(meta.data_type as string)) {
      skipped.push(`${name} (${meta.data_type})`);
      continue;
    }
    await using arr = await ShardedArray.open(path.join(FIXTURES, name));
    for (let k = 0; k < 6; k++) {
      const sel = k === 0 ? null : randomSelection(r, meta.shape as number[]);
      const got = await arr.read(sel, k % 2 ? { pool } : {});
      const what = `${name} ${JSON.stringify(sel)}`;
      if (got.data.length === 0) continue; // zarrita cannot read empty selections
      const want = await zarritaGet(FIXTURES, `/${name}`, sel);
      if (typeof want !== "object" || want === null || !("shape" in want)) { // a scalar
        assertEquals(got.shape, [], what);
        assertEquals(plain(got.data), plain([want]), what);
        continue;
      }
      assertEquals(got.shape, want.shape, what);
      assertEquals(plain(got.data), plain(cOrder(want as never)), what);
    }
    done++;
  }
  assert(done >= 30, `${done} fixture arrays read (${skipped.length} not numeric: ${skipped.join(", ")})`);
  // Only string and float16 arrays are left out (the batched reader handles typed-array data types).
  assert(skipped.every((s) => s.includes("string") || s.includes("float16")), skipped.join(", "));
});

test("zarr: written arrays of every rank, data type, codec and index layout read back through zarrita and the batched reader", async () => {
  const r = rng(62);
  let n = 0;
  for (let rank = 1; rank <= 4; rank++) {
    for (const dtype of DTYPES) {
      const codecs = (["raw", "gzip", "zstd"] as const)[n % 3];
      const indexLocation = n % 2 ? "start" : "end";
      const crc = n % 4 !== 3;
      n++;
      // Ragged: shapes not multiples of shards, shards multiples of chunks.
      const chunk = Array.from({ length: rank }, () => randInt(r, 1, rank > 2 ? 3 : 6));
      const shard = chunk.map((c) => c * randInt(r, 1, 3));
      const shape = shard.map((s) => randInt(r, 1, s * 2 + 1));
      const len = shape.reduce((a, b) => a * b, 1);
      const data = new TYPED[dtype](len);
      for (let i = 0; i < len; i++) {
        const v = randInt(r, -100, 100);
        // some runs of fill (0) so empty chunks occur
        const x = r() < 0.3 ? 0 : v;
        (data as unknown as unknown[])[i] = dtype === "bool"
          ? +(x > 0)
          : dtype.includes("int64")
          ? BigInt(dtype === "uint64" ? Math.abs(x) : x)
          : dtype.startsWith("uint")
          ? Math.abs(x)
          : dtype.startsWith("float")
          ? x / 4
          : x;
      }
      const name = `gen-${rank}d-${dtype}-${codecs}-${indexLocation}${crc ? "" : "-nocrc"}`;
      const where = path.join(dir, name);
      await writeShardedArray(where, data, {
        shape,
        dtype,
        shardShape: shard,
        chunkShape: chunk,
        codecs,
        indexLocation,
        crc32c: crc,
      });
      const label = `${name} shape ${shape} shard ${shard} chunk ${chunk}`;
      // zarrita reads what we wrote (its sharding reads the index at the end only).
      if (indexLocation === "end") {
        const z = await zarritaGet(dir, `/${name}`, null);
        assertEquals(plain(z.data as ArrayLike<unknown>), plain(data), `zarrita: ${label}`);
      }
      await using arr = await ShardedArray.open(where);
      const whole = await arr.read(null, n % 2 ? { pool } : {});
      assertEquals(plain(whole.data), plain(data), label);
      for (let k = 0; k < 4; k++) {
        const sel = randomSelection(r, shape);
        const got = await arr.read(sel, k % 2 ? { pool } : {});
        assertEquals(plain(got.data), plain(naiveSelect(data, shape, sel)), `${label} ${JSON.stringify(sel)}`);
      }
    }
  }
});

test("zarr: a corrupted shard index is caught (crc32c), naming the shard; missing shards and empty chunks read as fill", async () => {
  const where = path.join(dir, "crc");
  const data = Float32Array.from({ length: 64 }, (_, i) => i + 1);
  await writeShardedArray(where, data, {
    shape: [8, 8],
    dtype: "float32",
    shardShape: [4, 8],
    chunkShape: [2, 4],
    fillValue: -1,
  });
  const shard = path.join(where, "c", "1", "0");
  const bytes = fs.readFileSync(shard);
  bytes[bytes.length - 20] ^= 0xff; // inside the index (before the 4 crc bytes)
  fs.writeFileSync(shard, bytes);
  await using arr = await ShardedArray.open(where);
  const e = await assertRejects(() => arr.read([[4, 6], null]), ZarrFormatError, "checksum");
  assert(e.message.includes(shard), e.message);
  fs.rmSync(shard);
  await using again = await ShardedArray.open(where);
  const res = await again.read(null);
  assertEquals(Array.from(res.data as Float32Array).slice(0, 32), Array.from(data.subarray(0, 32)));
  assertEquals(Array.from(res.data as Float32Array).slice(32), new Array(32).fill(-1));
  assertEquals(res.chunksFilled, 4);
  // empty inner chunks: all-fill chunks are not stored and read back as fill
  const sparse = new Float32Array(64).fill(-1);
  sparse[9] = 5;
  const w2 = path.join(dir, "sparse");
  await writeShardedArray(w2, sparse, {
    shape: [8, 8],
    dtype: "float32",
    shardShape: [8, 8],
    chunkShape: [2, 2],
    fillValue: -1,
  });
  await using s2 = await ShardedArray.open(w2);
  const r2 = await s2.read(null, { pool });
  assertEquals(Array.from(r2.data as Float32Array), Array.from(sparse));
  assertEquals(r2.chunksRead, 1);
  assertEquals(r2.chunksFilled, 15);
});

test("zarr: readBatch reads many crops in one go, normalised to float32 where they are copied", async () => {
  const r = rng(63);
  const shape = [5, 100, 130];
  const made = await randomUint16Array(r, "crops", shape, [1, 64, 64], [1, 32, 64]);
  const { data, where } = made;
  await using arr = made.arr;
  const sels: DimSelection[][] = Array.from({ length: 12 }, () => {
    const y = randInt(r, 0, 100 - 16), x = randInt(r, 0, 130 - 16);
    return [randInt(r, 0, 4), [y, y + 16], [x, x + 16]];
  });
  for (const opts of [{}, { pool }]) {
    const res = await arr.readBatch(sels, { ...opts, dtype: "float32", scale: 1 / 65535, offset: 0 });
    assertEquals(res.shape, [12, 16, 16]);
    assert(res.data instanceof Float32Array);
    sels.forEach((sel, k) => {
      const want = naiveSelect(data, shape, sel).map((v) => Math.fround((v as number) / 65535));
      assertEquals(Array.from(res.data.subarray(k * 256, k * 256 + 256) as Float32Array), want, `crop ${k}`);
    });
  }
  // Reads in flight at once (a loader prefetching) each get their own request arrays and slab,
  // on the calling thread or the reader's (hotPath: false), and on an array whose index cache
  // holds fewer shards than one batch touches (12 crops over 8 shards, cache of 1).
  await using tiny = await ShardedArray.open(where, { indexCacheShards: 1 });
  for (const [a, opts] of [[arr, {}], [arr, { hotPath: false }], [arr, { pool }], [tiny, {}]] as const) {
    const halves = [sels.slice(0, 6), sels.slice(6)];
    const both = await Promise.all(halves.map((h, i) => a.readBatch(h, i ? opts : { ...opts, hotPath: true })));
    both.forEach((res, h) =>
      halves[h].forEach((sel, k) => {
        assertEquals(
          Array.from(res.data.subarray(k * 256, k * 256 + 256) as Uint16Array),
          naiveSelect(data, shape, sel),
        );
      })
    );
  }
  await assertRejects(() => arr.readBatch([[0, [0, 4], [0, 4]], [0, [0, 5], [0, 4]]]), RangeError, "one shape");
});

test("zarr: a raw chunk of the wrong size is an error (never copied past its end), on the main thread and in the pool", async () => {
  const where = path.join(dir, "short");
  await writeShardedArray(where, Uint16Array.from({ length: 64 }, (_, i) => i + 1), {
    shape: [8, 8],
    dtype: "uint16",
    shardShape: [8, 8],
    chunkShape: [4, 4],
  });
  // Rewrite the index (at the end: 4 chunks × 16 bytes + crc32c) so chunk 0 claims 10 bytes, then fix the checksum.
  const shard = path.join(where, "c", "0", "0");
  const b = fs.readFileSync(shard);
  const idx = b.length - 4 - 64;
  new DataView(b.buffer, b.byteOffset).setBigUint64(idx + 8, 10n, true);
  new DataView(b.buffer, b.byteOffset).setUint32(b.length - 4, crc32c(b.subarray(idx, idx + 64)), true);
  fs.writeFileSync(shard, b);
  for (const opts of [{}, { pool }]) {
    await using arr = await ShardedArray.open(where);
    const e = await assertRejects(() => arr.read(null, opts));
    assert(String(e).includes("wrong size") && String(e).includes(shard), String(e));
    const ok = await arr.read([[4, 8], [4, 8]], opts); // the other chunks still read
    assertEquals(Array.from(ok.data as Uint16Array).slice(0, 4), [37, 38, 39, 40]);
  }
});

test("zarr: zstd chunks decode natively; a corrupt frame fails with EBADMSG naming the shard", async () => {
  const where = path.join(dir, "zstd-bad");
  const data = Float32Array.from({ length: 256 }, (_, i) => i / 2);
  await writeShardedArray(where, data, {
    shape: [16, 16],
    dtype: "float32",
    shardShape: [16, 16],
    chunkShape: [8, 8],
    codecs: "zstd",
  });
  await using good = await ShardedArray.open(where);
  assertEquals(
    Array.from((await good.read([[3, 11], [5, 13]], { pool })).data as Float32Array),
    naiveSelect(data, [16, 16], [[3, 11], [5, 13]]),
  );
  const shard = path.join(where, "c", "0", "0");
  const b = fs.readFileSync(shard);
  b[0] ^= 0xff; // the first chunk's zstd magic number
  fs.writeFileSync(shard, b);
  for (const opts of [{}, { pool }]) {
    await using arr = await ShardedArray.open(where);
    const e = await assertRejects(() => arr.read(null, opts));
    assert(String(e).includes("does not decode") && String(e).includes(shard), String(e));
  }
});

test("zarr: readBatches reads ahead and recycles outputs; every batch equals readBatch; errors and early exits", async () => {
  const r = rng(91);
  const shape = [6, 96, 80];
  const made = await randomUint16Array(r, "loader", shape, [1, 32, 40], [1, 16, 20]);
  const { data } = made;
  await using arr = made.arr;
  const crop = (): DimSelection[] => {
    const y = randInt(r, 0, 96 - 12), x = randInt(r, 0, 80 - 12);
    return [randInt(r, 0, 5), [y, y + 12], [x, x + 12]];
  };
  // Batches of different sizes, so a recycled output only goes to a batch of its size.
  const batches = Array.from({ length: 9 }, (_, i) => Array.from({ length: 1 + (i % 3) * 2 }, crop));
  for (const opts of [{ ahead: 0 }, { ahead: 1 }, { ahead: 3, recycle: true }, { ahead: 1, recycle: true, pool }]) {
    const seen: NumericArray[] = [];
    let k = 0;
    for await (const res of arr.readBatches(batches, opts)) {
      const sels = batches[k];
      assertEquals(res.shape, [sels.length, 12, 12]);
      sels.forEach((sel, j) =>
        assertEquals(
          Array.from(res.data.subarray(j * 144, (j + 1) * 144) as Uint16Array),
          naiveSelect(data, shape, sel),
          `batch ${k} crop ${j}`,
        )
      );
      seen.push(res.data);
      k++;
    }
    assertEquals(k, batches.length);
    const distinct = new Set(seen.map((d) => d.buffer)).size;
    if (opts.recycle) assert(distinct < seen.length, `recycled: ${distinct} outputs for ${seen.length} batches`);
    else assertEquals(distinct, seen.length);
  }
  // An async source; converted to float32.
  async function* source() {
    for (const b of batches.slice(0, 3)) yield b;
  }
  let n = 0;
  for await (const res of arr.readBatches(source(), { dtype: "float32", scale: 2 })) {
    assert(res.data instanceof Float32Array);
    assertEquals(res.data[0], 2 * (naiveSelect(data, shape, batches[n][0])[0] as number));
    n++;
  }
  assertEquals(n, 3);
  // A bad batch rejects in its turn, after the batches before it were yielded.
  const bad = [batches[0], [[0, [0, 4], [0, 4]], [0, [0, 5], [0, 4]]] as DimSelection[][], batches[1]];
  let before = 0;
  await assertRejects(
    async () => {
      for await (const _ of arr.readBatches(bad, { ahead: 2 })) before++;
    },
    RangeError,
    "one shape",
  );
  assertEquals(before, 1);
  // Leaving early waits for the batches read ahead and closes the source.
  let closed = false;
  function* endless() {
    try {
      for (;;) yield batches[0];
    } finally {
      closed = true;
    }
  }
  let taken = 0;
  for await (const _ of arr.readBatches(endless(), { ahead: 2 })) if (++taken === 4) break;
  assert(closed, "the source was closed");
  await assertRejects(
    async () => {
      for await (const _ of arr.readBatches(null as unknown as DimSelection[][][])) break;
    },
    TypeError,
    "iterable",
  );
  await assertRejects(
    async () => {
      for await (const _ of arr.readBatches(batches, { ahead: -1 })) break;
    },
    RangeError,
    "ahead",
  );
});

test("zarr: cleanup", async () => {
  await pool.close();
  removeDir(dir);
});

// Strict arguments: unknown keys, invalid enum values, wrong types and the
// old names of renamed options are refused with a TypeError that names the
// key and the nearest valid name; suffix ranges; error texts.
import * as fs from "node:fs";
import * as path from "node:path";
import { allocAligned, detectProfile, LsioError, Reader, WorkerPool } from "../mod.ts";
import { LsioStore, ShardedArray, writeShardedArray } from "../zarr.ts";
import { assert, assertEquals, assertInstanceOf, assertRejects } from "./_assert.ts";
import { removeDir, tempDir, writeRandomFile } from "./_helpers.ts";
import { test } from "./_shim.ts";

const dir = tempDir("lsio-strict-");
const file = writeRandomFile(dir, "a.bin", 10_000, 1);
const zarrDir = path.join(dir, "arr.zarr");
await writeShardedArray(zarrDir, new Uint16Array(64), {
  shape: [8, 8],
  dtype: "uint16",
  shardShape: [8, 8],
  chunkShape: [4, 4],
});
const pool = await WorkerPool.open({ workers: 2 });
const reader = await Reader.open();
const arr = await ShardedArray.open(zarrDir);

/** Rejects (or throws) a TypeError whose message names every one of `words`. */
async function refused(fn: () => unknown, ...words: string[]): Promise<void> {
  const e = await assertRejects(async () => await fn(), TypeError);
  for (const w of words) assert(e.message.includes(w), `"${e.message}" does not name ${w}`);
}

test("strict: unknown option keys are refused, naming the key and the nearest valid name", async () => {
  await refused(() => Reader.open({ queueDepht: 8 } as never), '"queueDepht"', '"queueDepth"');
  await refused(() => reader.read([{ path: file }], { pastEOF: "truncate" } as never), '"pastEOF"', '"pastEof"');
  await refused(() => WorkerPool.open({ worker: 2 } as never), '"worker"', '"workers"');
  await refused(() => arr.read(null, { dtype: "float32", sclae: 2 } as never), '"sclae"', '"scale"');
  await refused(
    () => reader.read([{ path: file }], { plan: { profile: "ram", mergegap: 4 } } as never),
    '"mergegap"',
    '"mergeGap"',
  );
  await refused(() => arr.readBatches([[[0, [0, 2]]]], { ahaed: 2 } as never).next(), '"ahaed"', '"ahead"');
  await refused(
    () => pool.map([{ path: file }], { transform: (c: Uint8Array) => c[0], arg: 1 } as never),
    '"arg"',
    '"args"',
  );
  await refused(() => pool.reduce([{ path: file }], { dtype: "uint8", bin: 4 } as never), '"bin"', '"bins"');
  await refused(() => pool.stream([{ path: file }], { windw: 4 } as never).next(), '"windw"', '"window"');
  await refused(
    () =>
      writeShardedArray(
        path.join(dir, "w"),
        new Uint16Array(4),
        { shape: [4], dtype: "uint16", shardShape: [4], chunkShape: [2], indexLocaton: "start" } as never,
      ),
    '"indexLocaton"',
    '"indexLocation"',
  );
  await refused(() => LsioStore.open(dir, { readerOptons: {} } as never), '"readerOptons"', '"readerOptions"');
  await refused(() => ShardedArray.open(zarrDir, { indexCache: 4 } as never), '"indexCache"', '"indexCacheShards"');
  await refused(() => allocAligned(64, { aling: 64 } as never), '"aling"', '"align"');
  await refused(() => detectProfile(file, { mesure: false } as never), '"mesure"', '"measure"');
  await refused(() => reader.fileSizes([file], { singal: undefined } as never), '"singal"', '"signal"');
  assert(!fs.existsSync(path.join(dir, "w")), "a refused write wrote nothing");
});

test("strict: unknown request keys are refused ({ path, offset, length } no longer reads the whole file)", async () => {
  await refused(
    () => reader.read([{ path: file, offset: 0, length: 10 }] as never),
    "Request 0",
    '"offset"',
    '"start"',
  );
  await refused(() => reader.readInto([{ path: file, dest: new Uint8Array(64), ned: 4 }] as never), '"ned"', '"end"');
  await refused(
    () => reader.readColumnar({ paths: [file], files: new Uint32Array(1), start: new Float64Array(1) } as never),
    '"files"',
    '"file"',
  );
  await refused(() => reader.plan([{ path: file, stat: 0 }] as never), '"stat"', '"start"');
  await refused(
    () => pool.map([{ path: file, strat: 0 }] as never, { transform: (c: Uint8Array) => c[0] }),
    '"strat"',
    '"start"',
  );
  const buf = new Uint8Array(new SharedArrayBuffer(64));
  await refused(
    () =>
      reader.readColumnar(
        {
          paths: [file],
          file: new Uint32Array(1),
          start: new Float64Array(1),
          dest: { buffer: buf, offset: new Float64Array(1) },
        } as never,
      ),
    '"offset"',
    '"offsets"',
  );
});

test("strict: invalid enum values are refused (dtype of reads, transforms, reductions and writes; backend, pastEof, profile, gaps, indexLocation)", async () => {
  await refused(() => arr.read(null, { dtype: "uint8" } as never), "dtype", '"float32"', '"uint8"');
  await refused(() => arr.readBatch([[[0, 4], 0]], { dtype: "f32" } as never), "dtype", '"f32"');
  await refused(
    () => pool.map([{ path: file }], { transform: (c: Uint8Array) => c[0], dtype: "float" } as never),
    '"float"',
    '"float32"',
  );
  await refused(() => pool.reduce([{ path: file }], { dtype: "f32" } as never), '"f32"');
  await refused(() => Reader.open({ backend: "uring" } as never), '"uring"');
  await refused(() => reader.read([{ path: file }], { pastEof: "clamp" } as never), '"clamp"');
  await refused(() => reader.read([{ path: file }], { plan: { profile: "nvm" } } as never), '"nvm"', '"nvme"');
  await refused(() => reader.read([{ path: file }], { plan: { gaps: "copyy" } } as never), '"copyy"', '"copy"');
  await refused(
    () =>
      writeShardedArray(
        path.join(dir, "w2"),
        new Uint16Array(4),
        { shape: [4], dtype: "uint17", shardShape: [4], chunkShape: [2] } as never,
      ),
    '"uint17"',
    '"uint16"',
  );
  await refused(
    () =>
      writeShardedArray(
        path.join(dir, "w2"),
        new Uint16Array(4),
        { shape: [4], dtype: "uint16", shardShape: [4], chunkShape: [2], indexLocation: "middle" } as never,
      ),
    '"middle"',
  );
  assert(!fs.existsSync(path.join(dir, "w2")));
});

test("strict: the old names of renamed options are refused, pointing to the new one (one name per concept: dtype, dest)", async () => {
  await refused(
    () => pool.map([{ path: file }], { transform: (c: Uint8Array) => c[0], view: "uint8" } as never),
    '"view"',
    '"dtype"',
  );
  await refused(() => arr.read(null, { as: "float32" } as never), '"as"', '"dtype"');
  await refused(
    () =>
      writeShardedArray(
        path.join(dir, "w3"),
        new Uint16Array(4),
        { shape: [4], dataType: "uint16", shardShape: [4], chunkShape: [2] } as never,
      ),
    '"dataType"',
    '"dtype"',
  );
  const out = new Float32Array(new SharedArrayBuffer(4));
  await refused(
    () => pool.transformInto([{ path: file }], { transform: () => {}, output: out } as never),
    '"output"',
    '"dest"',
  );
  await refused(() => arr.read(null, { output: new Uint16Array(64) } as never), '"output"', '"dest"');
});

test("strict: writeShardedArray refuses data of another type than dtype (never converts)", async () => {
  const where = path.join(dir, "w4");
  await refused(
    () =>
      writeShardedArray(where, new Float32Array(4), { shape: [4], dtype: "uint16", shardShape: [4], chunkShape: [2] }),
    "Float32Array",
    "uint16",
    "Uint16Array",
  );
  await refused(
    () => writeShardedArray(where, new Int8Array(4), { shape: [4], dtype: "bool", shardShape: [4], chunkShape: [2] }),
    "Int8Array",
    "bool",
  );
  await assertRejects(
    () =>
      writeShardedArray(where, Uint8Array.of(0, 1, 2, 0), {
        shape: [4],
        dtype: "bool",
        shardShape: [4],
        chunkShape: [2],
      }),
    RangeError,
    "0 or 1",
  );
  assert(!fs.existsSync(where));
});

test("strict: reduce over a chunk whose length is not a whole number of elements fails that chunk (no bytes dropped)", async () => {
  const requests = [
    { path: file, start: 0, end: 4096 },
    { path: file, start: 4096, end: 4096 + 4097 }, // 4097 bytes: not whole float32s
    { path: file, start: 0, end: 8 },
  ];
  const r = await pool.reduce(requests, { dtype: "float32" });
  assertEquals(r.chunks, 2);
  assertEquals(r.elements, 1024 + 2);
  assertEquals([...r.errors.keys()], [1]);
  const e = r.errors.get(1)!;
  assertInstanceOf(e, LsioError);
  assertEquals(e.path, file);
  assertEquals(e.range, { start: 4096, end: 8193 });
  assert(e.message.includes("4097") && e.message.includes("float32"), e.message);
});

test("strict: a pure suffix longer than the file reads the whole file; explicit ends past the file stay ERANGE", async () => {
  const whole = fs.readFileSync(file);
  const [a, b, c] = await reader.read([
    { path: file, start: -20_000 }, // longer than the file: the whole file, as HTTP and object stores do
    { path: file, start: -20_000, end: -1 }, // an explicit end: ERANGE
    { path: file, start: -20_000, end: 10 },
  ]);
  assertEquals((a as Uint8Array).length, whole.length);
  assertEquals(Array.from((a as Uint8Array).subarray(0, 16)), Array.from(whole.subarray(0, 16)));
  assertInstanceOf(b, LsioError);
  assertEquals(b.code, "ERANGE");
  assertInstanceOf(c, LsioError);
  assertEquals(c.code, "ERANGE");
  // Columnar and pool alike.
  const col = await reader.readColumnar({ paths: [file], file: new Uint32Array(1), start: new Float64Array([-1e6]) });
  assertEquals(col.lengthOf(0), whole.length);
  const [first] = await pool.map([{ path: file, start: -1e6 }], { transform: (x: Uint8Array) => x.length });
  assertEquals(first, whole.length);
});

test("strict: error texts: a string where a number belongs, a bad file index, a closed reader or pool, open on a file or a missing folder", async () => {
  await refused(() => reader.read([{ path: file, start: "10" }] as never), "start", "a string", '"10"');
  await refused(() => Reader.open({ queueDepth: "64" } as never), "queueDepth", "a string");
  await refused(() => WorkerPool.open({ workers: "2" } as never), "workers", "a string");
  await refused(() => arr.read(null, { dtype: "float32", scale: "2" } as never), "scale", "a string");
  // A columnar file index outside paths: the error names the index and the path count.
  const res = await reader.readColumnar({
    paths: [file],
    file: Uint32Array.of(0, 3),
    start: new Float64Array(2),
    end: Float64Array.of(4, 4),
  });
  const e = res.error(1)!;
  assertInstanceOf(e, LsioError);
  assertEquals(e.code, "EINVAL");
  assert(e.message.includes("file index 3") && e.message.includes("1 path"), e.message);
  // Closed: said once.
  const r2 = await Reader.open();
  await r2.close();
  const c = await assertRejects(() => r2.read([{ path: file }]), LsioError);
  assertEquals(c.code, "EBADF");
  assertEquals(c.message.match(/closed/g)?.length, 1, c.message);
  const p2 = await WorkerPool.open({ workers: 1 });
  await p2.close();
  const pc = await assertRejects(() => p2.map([{ path: file }], { transform: () => 0 }), LsioError);
  assertEquals(pc.message.match(/closed/g)?.length, 1, pc.message);
  // Opening an array on a file, a store on a missing folder: LsioError at open.
  const onFile = await assertRejects(() => ShardedArray.open(file), LsioError);
  assertEquals(onFile.code, "ENOTDIR");
  assertEquals(onFile.path, file);
  const missing = path.join(dir, "no-such-folder");
  const st = await assertRejects(() => LsioStore.open(missing), LsioError);
  assertEquals(st.code, "ENOENT");
  assertEquals(st.path, missing);
  const stFile = await assertRejects(() => LsioStore.open(file), LsioError);
  assertEquals(stFile.code, "ENOTDIR");
});

test("strict: types narrow (dtype → typed array) and selections infer without casts", async () => {
  // Compile-time checks (deno test type-checks this file); the runtime asserts back them up.
  const f32 = await arr.readBatch([[[0, 2], [0, 2]]], { dtype: "float32" });
  const asF32: Float32Array = f32.data;
  assert(asF32 instanceof Float32Array);
  const f64 = await arr.read([[0, 2], 3], { dtype: "float64" });
  const asF64: Float64Array = f64.data;
  assert(asF64 instanceof Float64Array);
  // @ts-expect-error: a float32 read is not a Uint16Array
  const wrong: Uint16Array = f32.data;
  void wrong;
  const crops = (t: number) => [[t, [0, 4]], [t + 2, [4, 8]]];
  let n = 0;
  for await (const b of arr.readBatches([crops(0), crops(1)], { dtype: "float32" })) {
    const d: Float32Array = b.data;
    n += d.length;
  }
  assertEquals(n, 2 * 2 * 4);
});

test("strict: cleanup", async () => {
  await arr.close();
  await reader.close();
  await pool.close();
  removeDir(dir);
});

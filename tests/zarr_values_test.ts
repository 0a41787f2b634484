// Values that used to come back silently wrong: scale/offset with an output
// of the array's own type, 64-bit fill values past 2^53 (read and written),
// -0.0, bool chunks behind a big-endian bytes codec, 0-d arrays, crc32c inner
// chunks; and writes that fail leave nothing behind.
import * as fs from "node:fs";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import * as zarr from "zarrita";
import FileSystemStore from "@zarrita/storage/fs";
import { LsioError, WorkerPool } from "../mod.ts";
import { crc32c, ShardedArray, writeShardedArray, ZarrFormatError } from "../zarr.ts";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { removeDir, tempDir } from "./_helpers.ts";
import { test } from "./_shim.ts";

const dir = tempDir("lsio-zarr-values-");
const pool = await WorkerPool.open({ workers: 2 });

test("zarr values: scale and offset apply when the output type is the array's own (float32, float64; raw, zstd; main thread and pool)", async () => {
  for (const dtype of ["float32", "float64"] as const) {
    for (const codecs of ["raw", "zstd", "gzip"] as const) {
      const T = dtype === "float32" ? Float32Array : Float64Array;
      const values = new T(8 * 8).map((_, i) => i / 4);
      const where = path.join(dir, `scale-${dtype}-${codecs}`);
      await writeShardedArray(where, values, { shape: [8, 8], dtype, shardShape: [8, 8], chunkShape: [4, 4], codecs });
      await using arr = await ShardedArray.open(where);
      for (const options of [{}, { pool }]) {
        const what = `${dtype} ${codecs}${"pool" in options ? " pool" : ""}`;
        const got = await arr.read(null, { ...options, dtype, scale: 2, offset: 1 });
        assert(got.data instanceof T, what);
        assertEquals(Array.from(got.data as Float64Array), Array.from(values, (v) => (v - 1) * 2), what);
        // Only scale, only offset.
        const s = await arr.read([[0, 1], [0, 4]], { ...options, dtype, scale: 10 });
        assertEquals(Array.from(s.data as Float64Array), [0, 2.5, 5, 7.5], what);
        const o = await arr.read([[0, 1], [0, 4]], { ...options, dtype, offset: 0.25 });
        assertEquals(Array.from(o.data as Float64Array), [-0.25, 0, 0.25, 0.5], what);
      }
    }
  }
});

/** zarr.json as zarr-python writes it for a 1-d array of `n` elements, one chunk, no chunk files. */
function handWrittenMeta(where: string, dataType: string, fillLiteral: string, n = 4): void {
  fs.mkdirSync(where, { recursive: true });
  fs.writeFileSync(
    path.join(where, "zarr.json"),
    `{"shape": [${n}], "data_type": "${dataType}", "chunk_grid": {"name": "regular", "configuration": ` +
      `{"chunk_shape": [${n}]}}, "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}}, ` +
      `"fill_value": ${fillLiteral}, "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}], ` +
      `"attributes": {}, "zarr_format": 3, "node_type": "array", "storage_transformers": []}`,
  );
}

test("zarr values: 64-bit integer fill values past 2^53 read exactly (zarr.json parsed without rounding)", async () => {
  const cases: [string, string, bigint][] = [
    ["uint64", "18446744073709551615", 2n ** 64n - 1n],
    ["uint64", "9007199254740993", 2n ** 53n + 1n],
    ["int64", "9223372036854775807", 2n ** 63n - 1n],
    ["int64", "-9223372036854775808", -(2n ** 63n)],
    ["int64", "-9007199254740993", -(2n ** 53n) - 1n],
  ];
  for (const [dtype, literal, want] of cases) {
    const where = path.join(dir, `fill-${dtype}-${literal}`);
    handWrittenMeta(where, dtype, literal);
    await using arr = await ShardedArray.open(where);
    assertEquals(arr.meta.fillValue, want, `${dtype} ${literal}`);
    for (const options of [{}, { pool }]) {
      const { data } = await arr.read(null, options);
      assertEquals(Array.from(data as BigUint64Array), [want, want, want, want], `${dtype} ${literal}`);
    }
  }
  // A fill value outside its type is a format error naming the file.
  const bad = path.join(dir, "fill-bad-uint64");
  handWrittenMeta(bad, "uint64", "18446744073709551616");
  await assertRejects(() => ShardedArray.open(bad), ZarrFormatError, "18446744073709551616");
  const bad8 = path.join(dir, "fill-bad-uint8");
  handWrittenMeta(bad8, "uint8", "256");
  await assertRejects(() => ShardedArray.open(bad8), ZarrFormatError, "fill value 256");
});

test("zarr values: writeShardedArray writes 64-bit fill values exactly; a number fill for int64/uint64 is taken or refused before anything is written", async () => {
  const cases: ["int64" | "uint64", bigint | number, string][] = [
    ["uint64", 2n ** 64n - 1n, "18446744073709551615"],
    ["int64", 2n ** 63n - 1n, "9223372036854775807"],
    ["int64", -(2n ** 63n), "-9223372036854775808"],
    ["int64", 7, "7"],
    ["uint64", 2 ** 53 - 1, "9007199254740991"],
  ];
  for (const [dtype, fillValue, literal] of cases) {
    const where = path.join(dir, `wfill-${dtype}-${literal}`);
    const T = dtype === "int64" ? BigInt64Array : BigUint64Array;
    const data = new T(4); // 0s: every chunk written (the fill is not 0)
    await writeShardedArray(where, data, { shape: [4], dtype, shardShape: [4], chunkShape: [2], fillValue });
    const text = fs.readFileSync(path.join(where, "zarr.json"), "utf8");
    assert(new RegExp(`"fill_value": ${literal}[,\\n ]`).test(text), `${dtype} ${fillValue}: ${text}`);
    await using arr = await ShardedArray.open(where);
    assertEquals(arr.meta.fillValue, BigInt(fillValue));
    assertEquals(Array.from((await arr.read()).data as BigInt64Array), [0n, 0n, 0n, 0n]);
  }
  // Refused, with a TypeError/RangeError naming the fill, and no folder left behind.
  const refused: [string, unknown, unknown][] = [
    ["int64", 1.5, TypeError],
    ["int64", 2 ** 60, RangeError], // a Number past 2^53: not exact, give a bigint
    ["uint64", -1n, RangeError],
    ["uint64", 2n ** 64n, RangeError],
    ["int64", "7", TypeError],
    ["uint8", 256, RangeError],
    ["int16", 1.5, TypeError],
    ["bool", 1, TypeError],
    ["float32", 1n, TypeError],
  ];
  for (const [dtype, fillValue, E] of refused) {
    const where = path.join(dir, `wfill-refused-${dtype}-${String(fillValue)}`);
    const T = {
      int64: BigInt64Array,
      uint64: BigUint64Array,
      uint8: Uint8Array,
      int16: Int16Array,
      bool: Uint8Array,
      float32: Float32Array,
    }[dtype]!;
    await assertRejects(
      () =>
        writeShardedArray(where, new T(4), {
          shape: [4],
          dtype: dtype as never,
          shardShape: [4],
          chunkShape: [2],
          fillValue: fillValue as never,
        }),
      E as never,
      "fillValue",
    );
    assert(!fs.existsSync(where), `${dtype} ${fillValue}: ${where} was created`);
  }
});

test("zarr values: -0.0 survives writeShardedArray: as the fill value, and as chunk data when the fill is 0", async () => {
  for (const dtype of ["float32", "float64"] as const) {
    const T = dtype === "float32" ? Float32Array : Float64Array;
    // Fill -0: written as -0.0 and read back as -0.
    const negFill = path.join(dir, `negzero-fill-${dtype}`);
    await writeShardedArray(negFill, new T(8).fill(-0), {
      shape: [8],
      dtype,
      shardShape: [8],
      chunkShape: [4],
      fillValue: -0,
    });
    assert(/"fill_value": -0\.0[,\n ]/.test(fs.readFileSync(path.join(negFill, "zarr.json"), "utf8")));
    await using a = await ShardedArray.open(negFill);
    assert(Object.is(a.meta.fillValue, -0), `${dtype}: fill ${a.meta.fillValue}`);
    assert(Array.from((await a.read()).data as Float64Array).every((v) => Object.is(v, -0)));
    assert(!fs.existsSync(path.join(negFill, "c", "0")), "chunks of only the fill (-0.0) are not stored");
    // Fill 0, data -0.0: a chunk of -0.0 is not the fill and is stored.
    const negData = path.join(dir, `negzero-data-${dtype}`);
    const data = new T(8);
    data.fill(-0, 0, 4);
    await writeShardedArray(negData, data, { shape: [8], dtype, shardShape: [8], chunkShape: [4] });
    await using b = await ShardedArray.open(negData);
    for (const options of [{}, { pool }]) {
      const got = Array.from((await b.read(null, options)).data as Float64Array);
      assertEquals(got.map((v) => Object.is(v, -0)), [true, true, true, true, false, false, false, false]);
    }
    // zarrita agrees.
    const z = await zarr.open(zarr.root(new FileSystemStore(negData)), { kind: "array" });
    const zv = Array.from((await zarr.get(z)).data as Float64Array);
    assertEquals(zv.map((v) => Object.is(v, -0)), [true, true, true, true, false, false, false, false]);
    // NaN payloads: a NaN chunk is only "empty" for the same bits.
    const nan = path.join(dir, `nan-${dtype}`);
    await writeShardedArray(nan, new T(4).fill(NaN), {
      shape: [4],
      dtype,
      shardShape: [4],
      chunkShape: [4],
      fillValue: NaN,
    });
    assert(!fs.existsSync(path.join(nan, "c", "0")), "NaN chunks with a NaN fill are empty");
  }
});

test("zarr values: bool chunks behind a big-endian bytes codec are not byte-swapped (write and read, main thread and pool)", async () => {
  const values = Uint8Array.from({ length: 64 }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0);
  for (const extra of [[], [{ name: "gzip", configuration: { level: 1 } }]]) {
    const where = path.join(dir, `bool-big-${extra.length}`);
    await writeShardedArray(where, values, {
      shape: [64],
      dtype: "bool",
      shardShape: [64],
      chunkShape: [16],
      codecs: [{ name: "bytes", configuration: { endian: "big" } }, ...extra],
    });
    // The stored chunk bytes are the 0/1 bytes themselves (gunzipped for gzip): zarr-python reads them so.
    const shard = fs.readFileSync(path.join(where, "c", "0"));
    const idx = new DataView(shard.buffer, shard.byteOffset + shard.length - 4 * 16 - 4, 16);
    const first = shard.subarray(
      Number(idx.getBigUint64(0, true)),
      Number(idx.getBigUint64(0, true) + idx.getBigUint64(8, true)),
    );
    assertEquals(Array.from(extra.length ? gunzipSync(first) : first), Array.from(values.subarray(0, 16)));
    await using arr = await ShardedArray.open(where);
    for (const options of [{}, { pool }]) {
      assertEquals(
        Array.from((await arr.read(null, options)).data as Uint8Array),
        Array.from(values),
        JSON.stringify(extra),
      );
      assertEquals(
        Array.from((await arr.read([[5, 21]], options)).data as Uint8Array),
        Array.from(values.subarray(5, 21)),
      );
    }
  }
});

test("zarr values: 0-d arrays read with raw and zstd chunks (main thread and pool, converted too)", async () => {
  for (const codecs of ["raw", "zstd", "gzip"] as const) {
    const where = path.join(dir, `zerod-${codecs}`);
    await writeShardedArray(where, Int32Array.of(-42), {
      shape: [],
      dtype: "int32",
      shardShape: [],
      chunkShape: [],
      codecs,
    });
    await using arr = await ShardedArray.open(where);
    for (const options of [{}, { pool }]) {
      const got = await arr.read(null, options);
      assertEquals(got.shape, []);
      assertEquals(Array.from(got.data as Int32Array), [-42], codecs);
      const f = await arr.read(null, { ...options, dtype: "float32", scale: 0.5 });
      assertEquals(Array.from(f.data as Float32Array), [-21], codecs);
    }
    const z = await zarr.open(zarr.root(new FileSystemStore(where)), { kind: "array" });
    assertEquals(await zarr.get(z) as unknown, -42);
  }
});

test("zarr values: crc32c on inner chunks is written, read back by zarrita and the batched reader, and checked", async () => {
  const values = Uint16Array.from({ length: 32 * 32 }, (_, i) => i);
  for (const extra of [[], [{ name: "zstd", configuration: { level: 1, checksum: false } }]]) {
    const where = path.join(dir, `inner-crc-${extra.length}`);
    await writeShardedArray(where, values, {
      shape: [32, 32],
      dtype: "uint16",
      shardShape: [32, 32],
      chunkShape: [16, 16],
      codecs: [{ name: "bytes", configuration: { endian: "little" } }, ...extra, { name: "crc32c" }],
    });
    const z = await zarr.open(zarr.root(new FileSystemStore(where)), { kind: "array" });
    assertEquals(Array.from((await zarr.get(z)).data as Uint16Array), Array.from(values));
    await using arr = await ShardedArray.open(where);
    for (const options of [{}, { pool }]) {
      assertEquals(Array.from((await arr.read(null, options)).data as Uint16Array), Array.from(values));
    }
    // The stored checksum is crc32c of what precedes it.
    const shard = fs.readFileSync(path.join(where, "c", "0", "0"));
    if (!extra.length) {
      const first = shard.subarray(0, 16 * 16 * 2 + 4);
      const stored = new DataView(first.buffer, first.byteOffset + 512, 4).getUint32(0, true);
      assertEquals(stored, crc32c(first.subarray(0, 512)));
      // A flipped byte in a chunk: an error naming the shard, main thread and pool.
      shard[3] ^= 0xff;
      fs.writeFileSync(path.join(where, "c", "0", "0"), shard);
      await using broken = await ShardedArray.open(where);
      for (const options of [{}, { pool }]) {
        const e = await assertRejects(() => broken.read(null, options));
        assert(/crc32c/i.test(e.message) && e.message.includes(path.join(where, "c", "0", "0")), e.message);
      }
    }
  }
});

test("zarr values: a write that fails leaves nothing behind (no folder, or the old array untouched)", async () => {
  const where = path.join(dir, "half");
  const opts = { shape: [4, 4], dtype: "uint16" as const, shardShape: [4, 4], chunkShape: [2, 2] };
  // An unknown codec: refused before anything is written.
  await assertRejects(
    () =>
      writeShardedArray(where, new Uint16Array(16), {
        ...opts,
        codecs: [{ name: "bytes" }, { name: "no-such-codec" }],
      }),
    Error,
    "no-such-codec",
  );
  assert(!fs.existsSync(where), "no folder after a refused write");
  // Over an existing array: a failing write keeps the old one whole.
  await writeShardedArray(where, Uint16Array.from({ length: 16 }, (_, i) => i + 1), opts);
  const before = fs.readFileSync(path.join(where, "zarr.json"), "utf8");
  await assertRejects(
    () =>
      writeShardedArray(where, new Uint16Array(16), {
        ...opts,
        codecs: [{ name: "bytes" }, { name: "no-such-codec" }],
      }),
  );
  await assertRejects(() => writeShardedArray(where, new Float32Array(16), opts as never), TypeError);
  assertEquals(fs.readFileSync(path.join(where, "zarr.json"), "utf8"), before);
  await using arr = await ShardedArray.open(where);
  assertEquals(Array.from((await arr.read()).data as Uint16Array), Array.from({ length: 16 }, (_, i) => i + 1));
  assertEquals(fs.readdirSync(dir).filter((n) => n.includes("half") && n !== "half"), [], "no temporary folder left");
  // A successful rewrite replaces the old array completely (no stale shards).
  await writeShardedArray(where, new Uint16Array(4), { ...opts, shape: [2, 2] });
  await using again = await ShardedArray.open(where);
  assertEquals(again.shape, [2, 2]);
  assertEquals(Array.from((await again.read()).data as Uint16Array), [0, 0, 0, 0]);
  assert(!fs.existsSync(path.join(where, "c")), "the all-fill rewrite left the old shards");
});

test("zarr values: cleanup", async () => {
  await pool.close();
  removeDir(dir);
  void LsioError;
});

// Suffix ranges of remote objects (issue 14): `start: -N` without an end is
// asked as `Range: bytes=-N` — no HEAD — by read, readInto and readColumnar,
// placed by the answer (a suffix longer than the object is all of it; an
// empty object gives an empty chunk), also from a server that ignores Range,
// merged with other suffixes of the same object, and through a Cache.
// Reader.plan, which promises lengths before reading, still sizes the object.
import * as fs from "node:fs";
import * as path from "node:path";
import { Buffer } from "node:buffer";
import { Cache, LsioError, Reader, WorkerPool } from "../mod.ts";
import { ShardedArray, writeShardedArray } from "../zarr.ts";
import { assert, assertEquals } from "./_assert.ts";
import { removeDir, tempDir, writeRandomFile } from "./_helpers.ts";
import { rangeServer } from "./_range_server.ts";
import { test } from "./_shim.ts";

const dir = tempDir("lsio-suffix-");
const sizes = [0, 1, 4095, 100_000, 3 << 20];
const files = sizes.map((n, i) => writeRandomFile(dir, `s${i}`, n, 40 + i));
const contents = files.map((f) => fs.readFileSync(f));
const SUFFIXES = [1, 100, 4096, 65_536, 99_999, 100_000, 100_001, 5 << 20];

/** Every (file, suffix) pair; `want` is what it must give. */
function cases(base: string) {
  const out: { path: string; start: number; want: Buffer }[] = [];
  files.forEach((f, i) => {
    for (const n of SUFFIXES) {
      out.push({ path: base + path.basename(f), start: -n, want: contents[i].subarray(Math.max(0, sizes[i] - n)) });
    }
  });
  return out;
}

function check(got: (Uint8Array | LsioError)[], want: Buffer[], what: string) {
  got.forEach((g, i) => {
    if (g instanceof LsioError) throw new Error(`${what} #${i}: ${g.message}`);
    assert(Buffer.from(g).equals(want[i]), `${what} #${i}: ${g.byteLength} bytes, want ${want[i].length}`);
  });
}

for (const ignoreRange of [false, true]) {
  test(`remote suffix: read, readInto and readColumnar send bytes=-N and no HEAD${ignoreRange ? " (a server that ignores Range)" : ""}`, async () => {
    const server = await rangeServer(dir, { ignoreRange });
    try {
      await using reader = await Reader.open();
      const cs = cases(server.url);
      for (const plan of [false as const, { profile: "cloud" as const }]) {
        check(
          await reader.read(cs.map(({ path, start }) => ({ path, start })), { plan }),
          cs.map((c) => c.want),
          "read",
        );
      }
      const dests = cs.map((c) => new Uint8Array(Math.max(c.want.length, -c.start)));
      const into = await reader.readInto(cs.map(({ path, start }, i) => ({ path, start, dest: dests[i] })));
      into.forEach((n, i) => {
        if (n instanceof LsioError) throw n;
        assertEquals(n, cs[i].want.length, `readInto #${i}`);
        assert(Buffer.from(dests[i].subarray(0, n)).equals(cs[i].want));
      });
      const paths = [...new Set(cs.map((c) => c.path))];
      const col = await reader.readColumnar({
        paths,
        file: Uint32Array.from(cs, (c) => paths.indexOf(c.path)),
        start: Float64Array.from(cs, (c) => c.start),
      });
      cs.forEach((c, i) => {
        const chunk = col.chunk(i);
        if (chunk instanceof LsioError) throw chunk;
        assert(Buffer.from(chunk).equals(c.want), `readColumnar #${i}`);
        const size = contents[files.findIndex((f) => c.path.endsWith(path.basename(f)))].length;
        assertEquals(col.fileOffsetOf(i), size - c.want.length, `readColumnar #${i}: the real offset`);
      });
      assertEquals(server.heads, 0, "no HEAD");
      if (!ignoreRange) assert(server.ranges.every((r) => /^bytes=-\d+$/.test(r)), server.ranges.join(", "));
    } finally {
      await server.close();
    }
  });
}

test("remote suffix: Reader.plan sizes the objects (its lengths are exact before any read); the pool gets them right", async () => {
  const server = await rangeServer(dir);
  try {
    await using reader = await Reader.open();
    const cs = cases(server.url);
    const plan = await reader.plan(cs.map(({ path, start }) => ({ path, start })));
    cs.forEach((c, i) => assertEquals(plan.lengthOf(i), c.want.length));
    assert(server.heads > 0);
    check(await reader.read(plan), cs.map((c) => c.want), "read(plan)");
    await using pool = await WorkerPool.open({ workers: 2 });
    const res = await pool.map(cs.map(({ path, start }) => ({ path, start })), {
      transform: (b: Uint8Array) => Array.from(b),
    });
    check(
      res.map((r) => (r instanceof Error ? r : Uint8Array.from(r as number[]))) as Uint8Array[],
      cs.map((c) => c.want),
      "pool",
    );
  } finally {
    await server.close();
  }
});

test("remote suffix: through a Cache the second read sends nothing and places the chunk at its real offset", async () => {
  const server = await rangeServer(dir);
  try {
    await using cache = await Cache.open({ bytes: 32 << 20 });
    await using reader = await Reader.open({ cache });
    const cs = cases(server.url).filter((c) => c.want.length <= 1 << 20);
    const paths = [...new Set(cs.map((c) => c.path))];
    const cols = {
      paths,
      file: Uint32Array.from(cs, (c) => paths.indexOf(c.path)),
      start: Float64Array.from(cs, (c) => c.start),
    };
    await reader.readColumnar(cols);
    const gets = server.gets;
    const again = await reader.readColumnar(cols);
    assertEquals(server.gets, gets, "no request the second time");
    cs.forEach((c, i) => {
      assert(Buffer.from(again.chunk(i) as Uint8Array).equals(c.want), `#${i}`);
      const size = contents[files.findIndex((f) => c.path.endsWith(path.basename(f)))].length;
      assertEquals(again.fileOffsetOf(i), size - c.want.length);
    });
  } finally {
    await server.close();
  }
});

test("remote suffix: ShardedArray reads its shard indexes with bytes=-N (no HEAD) and equals the local array", async () => {
  const root = tempDir("lsio-suffix-zarr-");
  const server = await rangeServer(root);
  try {
    const data = Uint16Array.from({ length: 32 * 30 }, (_, i) => (i * 37) & 0xffff);
    await writeShardedArray(path.join(root, "a.zarr"), data, {
      shape: [32, 30],
      dtype: "uint16",
      shardShape: [16, 15],
      chunkShape: [4, 5],
      codecs: "zstd",
    });
    await using arr = await ShardedArray.open(server.url + "a.zarr");
    const got = await arr.read();
    assertEquals(Array.from(got.data as Uint16Array), Array.from(data));
    // One HEAD: zarr.json, read whole (its length sizes the slab before the read); none for the shard indexes.
    assertEquals(server.heads, 1, "shard indexes by suffix GETs");
    assert(server.ranges.some((r) => /^bytes=-\d+$/.test(r)));
  } finally {
    await server.close();
    removeDir(root);
  }
});

test("remote suffix: cleanup", () => {
  removeDir(dir);
});

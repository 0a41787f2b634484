// Large remote objects are read as ranged GETs in flight at once (issue 14):
// the cloud profile's pieces are `splitSize` (8 MiB), or larger when that
// would make more pieces than the reader has transfers in flight — each GET
// costs a round trip, a signature and (on S3) a billed request, and more of
// them than transfers run only queue up. The server counts the GETs; the
// bytes must equal the local files whatever the cut.
import * as fs from "node:fs";
import * as path from "node:path";
import { Buffer } from "node:buffer";
import { Reader } from "../mod.ts";
import { assert, assertEquals } from "./_assert.ts";
import { removeDir, tempDir, writeRandomFile } from "./_helpers.ts";
import { rangeServer } from "./_range_server.ts";
import { test } from "./_shim.ts";

const MiB = 1 << 20;
const dir = tempDir("lsio-split-");
const files = [0, 1, 2, 3].map((i) => writeRandomFile(dir, `big${i}`, 20 * MiB + 12_345 * i, 70 + i));
const contents = files.map((f) => fs.readFileSync(f));

/** Reads `count` of the objects whole with `inflight` transfers; returns the Range of every GET. */
async function readWhole(count: number, inflight: number): Promise<string[]> {
  const server = await rangeServer(dir);
  try {
    await using reader = await Reader.open({ remote: { inflight } });
    const got = await reader.read(
      files.slice(0, count).map((f) => ({ path: server.url + path.basename(f) })),
      { plan: { profile: "cloud" } },
    );
    got.forEach((g, i) => {
      assert(g instanceof Uint8Array, `object ${i}: ${g}`);
      assert(Buffer.from(g).equals(contents[i]), `object ${i}: the bytes differ from the local file`);
    });
    return server.ranges;
  } finally {
    await server.close();
  }
}

/** The lengths of `bytes=a-b` ranges, sorted. */
function lengths(ranges: string[]): number[] {
  return ranges.map((r) => {
    const m = /^bytes=(\d+)-(\d+)$/.exec(r);
    assert(m, `a GET without a closed range: ${r}`);
    return Number(m[2]) - Number(m[1]) + 1;
  }).sort((a, b) => a - b);
}

test("remote split: with transfers to spare an object is cut into splitSize pieces", async () => {
  // one 20 MiB object, 64 transfers: 8 + 8 + 4 MiB GETs
  assertEquals(lengths(await readWhole(1, 64)), [4 * MiB, 8 * MiB, 8 * MiB]);
});

test("remote split: no more pieces than transfers in flight", async () => {
  // four objects of ≈ 20 MiB over 4 transfers: one GET each (not 12 of ≤ 8 MiB)
  const four = lengths(await readWhole(4, 4));
  assertEquals(four, contents.map((c) => c.length).sort((a, b) => a - b));
  // …over 8 transfers: ≈ 10 MiB pieces (bytes ÷ 8, in 4 KiB steps), 8 or so GETs, not 12
  const eight = lengths(await readWhole(4, 8));
  assert(eight.length <= 12 && eight.length >= 8, `${eight.length} GETs`);
  assert(eight.at(-1)! > 8 * MiB && eight.at(-1)! <= 11 * MiB, `largest piece ${eight.at(-1)}`);
});

test("remote split: cleanup", () => removeDir(dir));

// Multi-range GETs (issue 14): when the planner merges an http(s) object's
// ranges across gaps, LSIO asks for the ranges themselves in one GET
// (`Range: bytes=a-b,c-d,…`) and parses the multipart/byteranges answer
// into the destinations, so the gap bytes never cross the network. Servers
// that answer otherwise — the whole object, only the first range, one
// coalesced range, parts out of order, a body cut short — must still give
// exactly the requested bytes, and LSIO then asks spans. nginx answers
// multipart for real; the test's range server plays the others.
import * as fs from "node:fs";
import * as path from "node:path";
import { Buffer } from "node:buffer";
import { Reader } from "../mod.ts";
import { assert, assertEquals } from "./_assert.ts";
import { randInt, removeDir, rng, tempDir, writeRandomFile } from "./_helpers.ts";
import { rangeServer, type RangeServerOptions } from "./_range_server.ts";
import { ensureNginx, startNginx } from "./_nginx.ts";
import { test } from "./_shim.ts";

const KiB = 1 << 10;
const dir = tempDir("lsio-multirange-");
const files = [0, 1, 2, 3, 4, 5].map((i) => writeRandomFile(dir, `obj${i}`, 700 * KiB + 3_001 * i, 90 + i));
const contents = files.map((f) => fs.readFileSync(f));

interface Range {
  file: number;
  start: number;
  end: number;
}

/**
 * `perFile` ranges of each object, in random order: lengths 1 B – 9 KiB, gaps 0 – 40 KiB, some back to back, some
 * overlapping the one before, a few duplicated (the planner then reads the object once into a bounce buffer).
 */
function ranges(seed: number, perFile: number): Range[] {
  const r = rng(seed);
  const out: Range[] = [];
  for (let f = 0; f < files.length; f++) {
    let at = randInt(r, 0, 20 * KiB);
    for (let k = 0; k < perFile && at < contents[f].length; k++) {
      const len = randInt(r, 1, 9 * KiB);
      const end = Math.min(contents[f].length, at + len);
      out.push({ file: f, start: at, end });
      if (r() < 0.05) out.push({ file: f, start: at, end }); // a duplicate
      const u = r();
      at = u < 0.15
        ? Math.max(at + 1, end - randInt(r, 1, 12 * KiB)) // overlaps the one before
        : u < 0.3
        ? end // back to back
        : end + randInt(r, 1, 40 * KiB);
    }
  }
  for (let i = out.length - 1; i > 0; i--) { // shuffled: the planner sorts them back
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Reads the ranges from `base` + object name with the cloud plan; every one must equal the local bytes. */
async function readAndCheck(base: string, list: Range[], inflight = 64): Promise<void> {
  await using reader = await Reader.open({ remote: { inflight } });
  const got = await reader.read(
    list.map((q) => ({ path: base + path.basename(files[q.file]), start: q.start, end: q.end })),
    { plan: {} },
  );
  got.forEach((g, i) => {
    const q = list[i];
    assert(g instanceof Uint8Array, `object ${q.file} [${q.start}, ${q.end}): ${g}`);
    assert(
      Buffer.from(g).equals(contents[q.file].subarray(q.start, q.end)),
      `object ${q.file} [${q.start}, ${q.end}): the bytes differ from the local file`,
    );
  });
}

/** Runs `body` against a range server over the objects' folder; returns the Range header of every GET. */
async function withServer(options: RangeServerOptions, body: (url: string) => Promise<void>): Promise<string[]> {
  const server = await rangeServer(dir, options);
  try {
    await body(server.url);
    return server.ranges;
  } finally {
    await server.close();
  }
}

const several = (r: string) => r.includes(",");

test("remote multi-range: nginx's multipart answers land every range exactly (2 000 ranges, 6 objects)", async () => {
  ensureNginx();
  const work = tempDir("lsio-multirange-nginx-");
  const nginx = await startNginx(dir, work);
  try {
    await readAndCheck(nginx.url, ranges(1, 340));
    await readAndCheck(nginx.url, ranges(2, 40), 2); // fewer transfers than objects: units queue
  } finally {
    await nginx.stop();
    removeDir(work);
  }
});

test("remote multi-range: one GET per object asks only the ranges (no gap bytes), parts parsed", async () => {
  const list = ranges(3, 60);
  const asked = await withServer({ multiRange: "multipart" }, (url) => readAndCheck(url, list));
  assertEquals(asked.length, files.length, asked.join(" | ")); // 6 objects of < 1 MiB: one merged unit each
  assert(asked.every(several), "each GET asks several ranges");
  // what was asked is what was wanted: no range reaches into a gap of more than 1 KiB
  const wanted = asked.map((r) =>
    r.slice(6).split(",").reduce((s, p) => {
      const [a, b] = p.split("-").map(Number);
      return s + b - a + 1;
    }, 0)
  ).reduce((a, b) => a + b, 0);
  const masks = contents.map((c) => new Uint8Array(c.length));
  for (const q of list) masks[q.file].fill(1, q.start, q.end);
  const span = masks.reduce((s, m) => s + m.reduce((a, b) => a + b, 0), 0); // the bytes of the union
  assert(wanted >= span && wanted < span * 1.2, `asked ${wanted} bytes for ${span} wanted`);
});

for (
  const mode of [undefined, "first", "coalesce", "reorder"] as const
) {
  test(`remote multi-range: a server answering several ranges with ${mode ?? "the whole object (200)"} still yields the bytes; spans after`, async () => {
    const list = ranges(4, 30);
    // one transfer: the first GET's answer is seen before any other GET starts
    const asked = await withServer({ multiRange: mode }, (url) => readAndCheck(url, list, 1));
    assert(several(asked[0]), `the first GET asks several ranges: ${asked[0]}`);
    assert(!asked.slice(1).some(several), `after that, spans only: ${asked.slice(1).join(" | ")}`);
    // one GET per object, and for an answer that left ranges out one more for what is missing
    const extra = mode === "first" || mode === "reorder" ? 1 : 0;
    assertEquals(asked.length, files.length + extra, asked.join(" | "));
  });
}

test("remote multi-range: a multipart body cut short is resumed where it stopped, nothing delivered twice", async () => {
  const list = ranges(5, 50);
  const asked = await withServer({ multiRange: "truncate-once" }, (url) => readAndCheck(url, list, 1));
  assertEquals(asked.length, files.length + 1, asked.join(" | "));
  // the retry asks from where the cut body stopped: a later first byte than the first attempt's
  const first = (r: string) => Number(r.slice(6).split("-")[0]);
  assert(first(asked[1]) > first(asked[0]), `${asked[0]} then ${asked[1]}`);
});

test("remote multi-range: cleanup", () => removeDir(dir));

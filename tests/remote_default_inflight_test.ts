// A reader left at the default `remote.inflight` starts small GETs at 64 in
// flight and doubles up to 256 while a doubling adds 25 % to the batch's
// bytes/s (csrc/pace.h, pace_start_small): a store with a long round trip gets
// the hundreds in flight that hide it. A reader that sets `inflight` keeps
// exactly that. The server here answers every GET after DELAY_MS and counts
// how many it holds at once.
import * as http from "node:http";
import { Buffer } from "node:buffer";
import { Reader } from "../mod.ts";
import { assert, assertEquals } from "./_assert.ts";
import { rng } from "./_helpers.ts";
import { test } from "./_shim.ts";

const DELAY_MS = 20;
const SIZE = 4096, COUNT = 8192, OBJECT = 1 << 20;
const object = (() => {
  const r = rng(20261207), words = new Uint32Array(OBJECT / 4);
  for (let i = 0; i < words.length; i++) words[i] = (r() * 4294967296) >>> 0;
  return Buffer.from(words.buffer);
})();
let now = 0, most = 0;
const server = http.createServer((req, res) => {
  const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? "")!;
  const a = Number(m[1]), b = Math.min(Number(m[2]), OBJECT - 1);
  now++;
  most = Math.max(most, now);
  setTimeout(() => {
    now--;
    res.writeHead(206, { "content-range": `bytes ${a}-${b}/${OBJECT}`, "content-length": b - a + 1 });
    res.end(object.subarray(a, b + 1));
  }, DELAY_MS);
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/object`;

/** COUNT random 4 KiB ranges of the object in one readColumnar call, checked byte for byte; the most GETs at once. */
async function readSmall(reader: Reader, seed: number): Promise<number> {
  const r = rng(seed);
  const starts = Float64Array.from({ length: COUNT }, () => Math.floor(r() * (OBJECT / SIZE)) * SIZE);
  const dest = new Uint8Array(COUNT * SIZE);
  most = 0;
  const res = await reader.readColumnar({
    paths: [url],
    file: new Uint32Array(COUNT),
    start: starts,
    end: starts.map((s) => s + SIZE),
    dest: { buffer: dest, offsets: Float64Array.from({ length: COUNT }, (_, i) => i * SIZE) },
  });
  assertEquals(res.stats.failed, 0);
  for (let i = 0; i < COUNT; i++) {
    const s = starts[i];
    assert(Buffer.from(dest.subarray(i * SIZE, (i + 1) * SIZE)).equals(object.subarray(s, s + SIZE)), `range ${i}`);
  }
  return most;
}

test(`default inflight: small GETs to a server ${DELAY_MS} ms away climb from 64 to the hundreds`, async () => {
  await using reader = await Reader.open();
  assertEquals(reader.info.remote.inflight, 256);
  const peak = await readSmall(reader, 1);
  // 32 + 32 (two threads) first, then 64 + 64, then 128 + 128: each doubling halves the time.
  assert(peak > 128, `at most ${peak} GETs at once: the default did not climb past 128 against a slow server`);
  assert(peak <= 256, `${peak} GETs at once, the default cap is 256`);
});

test("default inflight: a reader that sets inflight keeps it", async () => {
  await using reader = await Reader.open({ remote: { inflight: 64 } });
  assertEquals(reader.info.remote.inflight, 64);
  const peak = await readSmall(reader, 2);
  assert(peak <= 64, `${peak} GETs at once, inflight is 64`);
  assert(peak >= 32, `only ${peak} GETs at once`);
});

test("default inflight: cleanup", async () => {
  server.closeAllConnections?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

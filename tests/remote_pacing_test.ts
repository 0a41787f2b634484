// Large remote transfers are paced (csrc/pace.h): a batch of ranges of 1 MiB
// or more starts at 4 transfers in flight per native thread and doubles while
// doubling still adds 10 % to the batch's bytes/s. A server in this process
// streams every answer at a set rate: per connection (as S3 serves each one at
// ≈ 100 MB/s: more transfers pay, so the limit climbs to `inflight`), or one
// rate shared by all connections (more transfers do not pay, so it stays low,
// and the next batch starts at the level settled on — and cuts its large
// objects into no more pieces than that level keeps in flight).
import * as http from "node:http";
import { Buffer } from "node:buffer";
import { Reader } from "../mod.ts";
import { assert, assertEquals } from "./_assert.ts";
import { rng } from "./_helpers.ts";
import { test } from "./_shim.ts";

const MiB = 1 << 20;
const OBJECT = 16 * MiB;
const objects = Array.from({ length: 4 }, (_, k) => {
  const r = rng(4400 + k), words = new Uint32Array(OBJECT / 4);
  for (let i = 0; i < words.length; i++) words[i] = (r() * 4294967296) >>> 0;
  return Buffer.from(words.buffer);
});

/** Bytes/s each answer is sent at ("connection"), or all answers together ("shared"). */
let mode: "connection" | "shared" = "connection";
let rate = 0;
let now = 0, most = 0, gets = 0;
type Answer = { res: http.ServerResponse; body: Buffer; sent: number };
const answers = new Set<Answer>();
let last = performance.now();
// One clock for every answer: each tick sends what the time since the last allows.
const ticker = setInterval(() => {
  const t = performance.now(), dt = (t - last) / 1000;
  last = t;
  if (answers.size === 0) return;
  const each = Math.max(1, Math.floor(mode === "connection" ? rate * dt : (rate * dt) / answers.size));
  for (const a of [...answers]) {
    const n = Math.min(each, a.body.length - a.sent);
    a.res.write(a.body.subarray(a.sent, a.sent + n));
    a.sent += n;
    if (a.sent === a.body.length) {
      answers.delete(a);
      now--;
      a.res.end();
    }
  }
}, 5);
const server = http.createServer((req, res) => {
  const body = objects[Number(req.url!.slice(1))];
  const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? "")!;
  const a = Number(m[1]), b = Math.min(Number(m[2]), body.length - 1);
  res.writeHead(206, { "content-range": `bytes ${a}-${b}/${body.length}`, "content-length": b - a + 1 });
  now++;
  gets++;
  most = Math.max(most, now);
  answers.add({ res, body: body.subarray(a, b + 1), sent: 0 });
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;

/** `count` random 1 MiB ranges over the objects, read by one readColumnar call and checked byte for byte. */
async function readLarge(reader: Reader, count: number, seed: number): Promise<void> {
  const r = rng(seed);
  const reqs = Array.from({ length: count }, () => {
    const f = Math.floor(r() * objects.length);
    const start = Math.floor(r() * (OBJECT / MiB - 1)) * MiB + Math.floor(r() * 256) * 4096;
    return { f, start, end: start + MiB };
  });
  const dest = new Uint8Array(count * MiB);
  const res = await reader.readColumnar({
    paths: objects.map((_, i) => base + i),
    file: Uint32Array.from(reqs, (q) => q.f),
    start: Float64Array.from(reqs, (q) => q.start),
    end: Float64Array.from(reqs, (q) => q.end),
    dest: { buffer: dest, offsets: Float64Array.from(reqs, (_, i) => i * MiB) },
  });
  assertEquals(res.stats.failed, 0);
  assertEquals(res.stats.bytes, count * MiB);
  for (const [i, q] of reqs.entries()) {
    assert(
      Buffer.from(dest.subarray(i * MiB, (i + 1) * MiB)).equals(objects[q.f].subarray(q.start, q.end)),
      `range ${i} (object ${q.f}, bytes ${q.start}-${q.end}) differs`,
    );
  }
}

/** Every object read whole by one planned readColumnar call, pieces of 1 MiB asked for; checked byte for byte. */
async function readWhole(reader: Reader): Promise<void> {
  const dest = new Uint8Array(objects.length * OBJECT);
  const res = await reader.readColumnar({
    paths: objects.map((_, i) => base + i),
    file: Uint32Array.from(objects, (_, i) => i),
    start: new Float64Array(objects.length),
    end: new Float64Array(objects.length).fill(OBJECT),
    dest: { buffer: dest, offsets: Float64Array.from(objects, (_, i) => i * OBJECT) },
  }, { plan: { profile: "cloud", splitSize: MiB } });
  assertEquals(res.stats.failed, 0);
  for (const [i, o] of objects.entries()) {
    assert(Buffer.from(dest.subarray(i * OBJECT, (i + 1) * OBJECT)).equals(o), `object ${i} differs`);
  }
}

test("pacing: each connection rate-limited: large transfers climb from 4 per thread to inflight", async () => {
  await using reader = await Reader.open({ remote: { inflight: 32 } });
  mode = "connection", rate = 2 * MiB, most = 0;
  await readLarge(reader, 128, 1);
  // 4 + 4 (two threads) first; two doublings give 16 + 16. Fewer than 24 at once: it did not climb.
  assert(most >= 24, `at most ${most} GETs at once: the limit did not climb with per-connection rates`);
  assert(most <= 32, `${most} GETs at once, inflight is 32`);
  // A link that pays for every transfer: large objects are still cut into one piece per transfer in flight.
  gets = 0;
  await readWhole(reader);
  assertEquals(gets, 32, "4 objects of 16 MiB at 32 in flight: 32 pieces");
});

test("pacing: one rate shared by all connections: one doubling tried and undone; the next batch starts there", async () => {
  await using reader = await Reader.open({ remote: { inflight: 32 } });
  mode = "shared", rate = 32 * MiB, most = 0;
  await readLarge(reader, 96, 2);
  // 4 + 4, then 8 + 8 tried: no more bytes/s, back to 4 + 4. All 32 would have been the unpaced count.
  assert(most <= 16, `${most} GETs at once: the limit kept climbing though more transfers added nothing`);
  assert(most >= 8, `only ${most} GETs at once: both threads should start at 4`);
  most = 0;
  await readLarge(reader, 48, 3);
  assert(most <= 8, `${most} GETs at once in the batch after: it probed again instead of starting at 4 + 4`);
  // Settled at 4 + 4: whole objects are cut into 8 pieces, not 32 that would wait their turn as extra GETs.
  gets = 0, most = 0;
  await readWhole(reader);
  assertEquals(gets, 8, "4 objects of 16 MiB after settling at 4 + 4 in flight: 8 pieces");
  assert(most <= 8, `${most} GETs at once`);
});

test("pacing: cleanup", async () => {
  clearInterval(ticker);
  server.closeAllConnections?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

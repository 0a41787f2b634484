// A remote batch of at least as many GETs as the reader's `inflight` runs on
// two native threads (csrc/http.c http_read: the lane's and a helper named
// "lsio-http-help", each with half the transfers): the helper is there while
// such a batch reads and gone after, a small batch never starts it, the GETs
// at once never pass `inflight`, and retries, stats and cancellation hold
// across both threads. A server in this process counts the GETs in flight.
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { Buffer } from "node:buffer";
import { Reader } from "../mod.ts";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { removeDir, rng, tempDir, writeRandomFile } from "./_helpers.ts";
import { test } from "./_shim.ts";

const INFLIGHT = 8;
const dir = tempDir("lsio-helper-");
const files = Array.from({ length: 6 }, (_, i) => writeRandomFile(dir, `f${i}`, 256 << 10, 9100 + i));
const contents = files.map((f) => fs.readFileSync(f));
let now = 0, most = 0, gets = 0;
/** The client ports GETs came from: one per connection. */
const sockets = new Set<number>();
let delayMs = 0;
/** Every n-th GET is answered 503 SlowDown (0: none). */
let slowDownEvery = 0;
const server = http.createServer((req, res) => {
  const body = fs.readFileSync(path.join(dir, path.basename(req.url!)));
  const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? "");
  now++;
  most = Math.max(most, now);
  sockets.add(req.socket.remotePort!);
  const n = ++gets;
  const answer = () => {
    now--;
    if (slowDownEvery && n % slowDownEvery === 0) {
      res.writeHead(503, { "content-type": "application/xml" }).end("<Error><Code>SlowDown</Code></Error>");
      return;
    }
    if (!m) return void res.writeHead(200, { "content-length": body.length }).end(body);
    const a = Number(m[1]), b = Math.min(Number(m[2]), body.length - 1);
    res.writeHead(206, { "content-range": `bytes ${a}-${b}/${body.length}`, "content-length": b - a + 1 })
      .end(body.subarray(a, b + 1));
  };
  if (delayMs) setTimeout(answer, delayMs);
  else answer();
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;

/** `count` random 4 KiB ranges over the files, as URLs. */
function ranges(count: number, seed: number) {
  const r = rng(seed);
  return Array.from({ length: count }, () => {
    const f = Math.floor(r() * files.length);
    const start = Math.floor(r() * 63) * 4096 + Math.floor(r() * 64) * 64;
    return { f, path: base + `f${f}`, start, end: start + 4096 };
  });
}
/** Whether a thread of this process is the native helper. */
function helperRunning(): boolean {
  for (const t of fs.readdirSync("/proc/self/task")) {
    try {
      if (fs.readFileSync(`/proc/self/task/${t}/comm`, "utf8").trim() === "lsio-http-help") return true;
    } catch { /* the thread ended meanwhile */ }
  }
  return false;
}
/** Runs `read` while looking for the helper thread every 5 ms; whether it was seen. */
async function watching<T>(read: () => Promise<T>): Promise<{ value: T; seen: boolean }> {
  let seen = false;
  const timer = setInterval(() => seen ||= helperRunning(), 5);
  try {
    const value = await read();
    return { value, seen };
  } finally {
    clearInterval(timer);
  }
}
function reset(delay: number, every = 0): void {
  now = most = gets = 0;
  sockets.clear();
  delayMs = delay;
  slowDownEvery = every;
}

test("helper thread: a batch of ≥ inflight GETs reads on two threads, never more than inflight at once", async () => {
  await using reader = await Reader.open({ remote: { inflight: INFLIGHT } });
  reset(15);
  const reqs = ranges(160, 1);
  const { value: res, seen } = await watching(() =>
    reader.read(reqs.map(({ path, start, end }) => ({ path, start, end })))
  );
  assert(seen, "no lsio-http-help thread while 160 GETs were in flight");
  assert(!helperRunning(), "the helper thread outlives its batch");
  assert(most <= INFLIGHT, `${most} GETs at once, inflight is ${INFLIGHT}`);
  assert(most >= INFLIGHT - 1, `only ${most} GETs at once: the two threads did not both read`);
  for (const [i, q] of reqs.entries()) {
    const got = res[i];
    assert(got instanceof Uint8Array, `request ${i}: ${got}`);
    assert(Buffer.from(got).equals(contents[q.f].subarray(q.start, q.end)), `request ${i} differs`);
  }
});

test("helper thread: the two threads share remote.connections: never more connections to the host", async () => {
  await using reader = await Reader.open({ remote: { inflight: INFLIGHT, connections: 4 } });
  reset(10);
  const reqs = ranges(120, 6);
  const { value: res, seen } = await watching(() =>
    reader.read(reqs.map(({ path, start, end }) => ({ path, start, end })))
  );
  assert(seen, "no helper thread for 120 GETs");
  assert(sockets.size <= 4, `${sockets.size} connections, remote.connections is 4`);
  assert(most <= 4, `${most} GETs at once over 4 connections`);
  assertEquals(res.filter((r) => r instanceof Uint8Array).length, reqs.length);
});

test("helper thread: a batch of fewer GETs than inflight stays on one thread", async () => {
  await using reader = await Reader.open({ remote: { inflight: INFLIGHT } });
  reset(30);
  const reqs = ranges(INFLIGHT - 2, 2);
  const { value: res, seen } = await watching(() =>
    reader.read(reqs.map(({ path, start, end }) => ({ path, start, end })))
  );
  assert(!seen, "a helper thread for 6 GETs");
  assertEquals(res.filter((r) => r instanceof Uint8Array).length, reqs.length);
});

test("helper thread: 503 SlowDown on both threads is retried; every chunk once and right; stats count each once", async () => {
  await using reader = await Reader.open({ remote: { inflight: INFLIGHT } });
  reset(0, 5);
  const reqs = ranges(400, 3);
  const dest = new Uint8Array(reqs.length * 4096);
  const res = await reader.readColumnar({
    paths: files.map((_, i) => base + `f${i}`),
    file: Uint32Array.from(reqs, (q) => q.f),
    start: Float64Array.from(reqs, (q) => q.start),
    end: Float64Array.from(reqs, (q) => q.end),
    dest: { buffer: dest, offsets: Float64Array.from(reqs, (_, i) => i * 4096) },
  });
  assertEquals(res.stats.chunks, reqs.length);
  assertEquals(res.stats.failed, 0);
  assertEquals(res.stats.bytes, reqs.length * 4096);
  assert(gets > reqs.length, `${gets} GETs for ${reqs.length} ranges: nothing was retried`);
  for (const [i, q] of reqs.entries()) {
    assertEquals(res.status[i], 0, `request ${i}`);
    assert(
      Buffer.from(dest.subarray(i * 4096, (i + 1) * 4096)).equals(contents[q.f].subarray(q.start, q.end)),
      `request ${i} differs`,
    );
  }
});

test("helper thread: an AbortSignal stops both threads within 100 ms; the reader reads again after", async () => {
  await using reader = await Reader.open({ remote: { inflight: INFLIGHT } });
  reset(40);
  const ctrl = new AbortController();
  const reqs = ranges(400, 4);
  const pending = reader.read(reqs.map(({ path, start, end }) => ({ path, start, end })), { signal: ctrl.signal });
  let saw = false;
  for (let k = 0; k < 40 && !saw; k++) {
    await new Promise((r) => setTimeout(r, 5));
    saw = helperRunning();
  }
  assert(saw, "no helper thread for 400 GETs");
  const t1 = performance.now();
  ctrl.abort(new Error("stop"));
  await assertRejects(() => pending, Error, "stop");
  const took = performance.now() - t1;
  assert(took < 100, `abort took ${took.toFixed(1)} ms`);
  for (let k = 0; k < 40 && helperRunning(); k++) await new Promise((r) => setTimeout(r, 5));
  assert(!helperRunning(), "the helper thread outlives a cancelled batch");
  reset(0);
  const again = ranges(3 * INFLIGHT, 5);
  const res = await reader.read(again.map(({ path, start, end }) => ({ path, start, end })));
  for (const [i, q] of again.entries()) {
    assert(Buffer.from(res[i] as Uint8Array).equals(contents[q.f].subarray(q.start, q.end)), `request ${i} differs`);
  }
});

test("helper thread: cleanup", async () => {
  server.closeAllConnections?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  removeDir(dir);
});

// Remote objects over HTTP (issue 14, first step): the same random files read
// as local paths and as URLs served by nginx are byte-identical, range kind by
// range kind, planned and unplanned; a batch mixes local and remote; errors
// map to the documented codes; a fault-injecting server (node:http, in this
// process) shows a server that ignores Range, 503 bursts, truncated bodies,
// and a stalled response that an AbortSignal stops.
import * as http from "node:http";
import * as path from "node:path";
import { Buffer } from "node:buffer";
import { LsioError, Reader, WorkerPool } from "../mod.ts";
import { LsioStore, ShardedArray, writeShardedArray } from "../zarr.ts";
import * as zarr from "zarrita";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { openFdCount, randInt, removeDir, rng, rssBytes, tempDir } from "./_helpers.ts";
import * as fs from "node:fs";
import { freePort, type Nginx, startNginx } from "./_nginx.ts";
import { makeCorpus, plain, randomRequest } from "./_ranges.ts";
import { env, test } from "./_shim.ts";

const SEED = 20261204;
const RANGES = 10_000;
const corpus = makeCorpus(SEED, "lsio-remote-");
const work = tempDir("lsio-remote-work-");
let nginx: Nginx | undefined;
const url = (p: string) => nginx!.url + path.basename(p);

test("remote: nginx starts on 127.0.0.1 and serves the corpus", async () => {
  nginx = await startNginx(corpus.dir, work);
  const r = await fetch(url(corpus.paths[3]));
  assertEquals(Buffer.from(await r.arrayBuffer()).equals(corpus.contents[3]), true);
});

/** Compares two result lists: the same errors (by code) and the same bytes. */
function assertSameResults(local: (Uint8Array | LsioError)[], remote: (Uint8Array | LsioError)[], what: string) {
  assertEquals(remote.length, local.length);
  let bytes = 0;
  for (let i = 0; i < local.length; i++) {
    const a = local[i], b = remote[i];
    if (a instanceof LsioError || b instanceof LsioError) {
      assertEquals(b instanceof LsioError ? b.code : "ok", a instanceof LsioError ? a.code : "ok", `${what} #${i}`);
      continue;
    }
    if (!Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))) {
      throw new Error(`${what}: request ${i} differs (${a.byteLength} vs ${b.byteLength} bytes)`);
    }
    bytes += a.byteLength;
  }
  return bytes;
}

for (const pastEof of ["error", "truncate"] as const) {
  for (const planned of [false, true]) {
    test(`remote: ${RANGES} random ranges of every kind, local paths and nginx URLs byte-identical (pastEof=${pastEof}${planned ? ", planned" : ""})`, async () => {
      await using reader = await Reader.open({ pastEof });
      const r = rng(SEED ^ (pastEof === "truncate" ? 1 : 0) ^ (planned ? 2 : 0));
      const reqs = plain(Array.from({ length: RANGES }, () => randomRequest(r, corpus)));
      const remoteReqs = reqs.map((q) => ({ ...q, path: url(q.path) }));
      const opts = planned ? { plan: { profile: "cloud" as const } } : { plan: false as const };
      const local = await reader.read(reqs, opts);
      const remote = await reader.read(remoteReqs, opts);
      const bytes = assertSameResults(local, remote, "read");
      assert(bytes > 1 << 20, `${bytes} bytes compared`);
      const failed = remote.filter((x) => x instanceof LsioError) as LsioError[];
      if (pastEof === "error") assert(failed.some((e) => e.code === "ERANGE"), "ranges past EOF fail with ERANGE");
      for (const e of failed) assert(e.path!.startsWith(nginx!.url), `the error names the URL: ${e.path}`);
    });
  }
}

test("remote: readColumnar and readInto over URLs equal the local files", async () => {
  await using reader = await Reader.open();
  const r = rng(SEED + 7);
  const n = 4000;
  const file = new Uint32Array(n), start = new Float64Array(n), end = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const f = randInt(r, 0, corpus.paths.length - 1);
    const size = corpus.contents[f].length;
    file[i] = f;
    start[i] = randInt(r, 0, size);
    end[i] = Math.min(size, start[i] + randInt(r, 0, 9000));
  }
  const col = await reader.readColumnar({ paths: corpus.paths.map(url), file, start, end });
  assertEquals(col.stats.failed, 0);
  for (let i = 0; i < n; i++) {
    const got = col.chunk(i) as Uint8Array;
    const want = corpus.contents[file[i]].subarray(start[i], end[i]);
    if (!Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(want)) throw new Error(`chunk ${i} differs`);
  }
  const dest = new Uint8Array(4096);
  const written = await reader.readInto([{ path: url(corpus.paths[8]), start: 100, end: 4196, dest }]);
  assertEquals(written, [4096]);
  assert(Buffer.from(dest).equals(corpus.contents[8].subarray(100, 4196)));
});

test("remote: WorkerPool map, reduce and stream over URLs equal the local files", async () => {
  await using pool = await WorkerPool.open({ workers: 2, remote: { inflight: 16 } });
  const n = 300;
  const r = rng(SEED + 9);
  const file = new Uint32Array(n), start = new Float64Array(n), end = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    file[i] = randInt(r, 0, 2);
    start[i] = randInt(r, 0, 60_000);
    end[i] = start[i] + randInt(r, 1, 4000);
  }
  const local = [7, 8, 9].map((k) => corpus.paths[k]);
  const cols = (paths: string[]) => ({ paths, file, start, end });
  const sum = (chunk: Uint8Array) => {
    let s = 0;
    for (let i = 0; i < chunk.length; i++) s += chunk[i];
    return s;
  };
  assertEquals(
    await pool.map(cols(local.map(url)), { transform: sum }),
    await pool.map(cols(local), { transform: sum }),
  );
  const [a, b] = [
    await pool.reduce(cols(local.map(url)), { dtype: "uint8" }),
    await pool.reduce(cols(local), { dtype: "uint8" }),
  ];
  assertEquals([a.sum, a.min, a.max], [b.sum, b.min, b.max]);
  let streamed = 0;
  for await (const { bytes } of pool.stream(cols(local.map(url)), { window: 64 })) streamed += bytes?.length ?? 0;
  assertEquals(streamed, Array.from(end, (e, i) => e - start[i]).reduce((x, y) => x + y, 0));
});

test("remote: a WorkerPool merges an object's chunks into one GET per call, whatever their order", async () => {
  // Zarr chunks come in crop order, not offset order: the pool's workers sort them per call (the cloud
  // profile) and take a run of their tasks at once, so 256 chunks of 2 objects are a few GETs, not 256.
  await using pool = await WorkerPool.open({ workers: 2 });
  const n = 256, r = rng(SEED + 21);
  const slots = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = randInt(r, 0, i + 1);
    [slots[i], slots[j]] = [slots[j], slots[i]];
  }
  const file = new Uint32Array(n), start = new Float64Array(n), end = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    file[i] = slots[i] & 1;
    start[i] = (slots[i] >> 1) * 2048;
    end[i] = start[i] + 1024;
  }
  const objects = [corpus.paths[8], corpus.paths[9]];
  const buffer = new Uint8Array(new SharedArrayBuffer(n * 1024));
  const offsets = Float64Array.from({ length: n }, (_, i) => i * 1024);
  const res = await pool.readInto({ paths: objects.map(url), file, start, end, dest: { buffer, offsets } });
  assertEquals(res.errors.size, 0);
  for (let i = 0; i < n; i++) {
    const want = corpus.contents[8 + file[i]].subarray(start[i], end[i]);
    if (!Buffer.from(buffer.subarray(i * 1024, i * 1024 + 1024)).equals(want)) throw new Error(`chunk ${i} differs`);
  }
  // Two objects per call; a call per worker, and one more for each steal.
  assert(res.stats.readsIssued <= 8, `${res.stats.readsIssued} GETs for ${n} chunks of 2 objects`);
});

test("remote: one batch mixes local files, URLs and a missing object; sizes by HEAD", async () => {
  await using reader = await Reader.open();
  const [a, b] = [corpus.paths[8], corpus.paths[9]];
  const res = await reader.read([
    { path: a, start: 10, end: 20 },
    { path: url(b), start: -30 },
    { path: nginx!.url + "missing.bin" },
    { path: url(a), start: 10, end: 20 },
    { path: b, start: 0, end: 0 },
  ]);
  assertEquals(Array.from(res[0] as Uint8Array), Array.from(corpus.contents[8].subarray(10, 20)));
  assertEquals(Array.from(res[1] as Uint8Array), Array.from(corpus.contents[9].subarray(-30)));
  const missing = res[2] as LsioError;
  assert(missing instanceof LsioError);
  assertEquals(missing.code, "ENOENT");
  assertEquals(missing.path, nginx!.url + "missing.bin");
  assertEquals(Array.from(res[3] as Uint8Array), Array.from(res[0] as Uint8Array));
  assertEquals((res[4] as Uint8Array).byteLength, 0);
  const sizes = await reader.fileSizes([url(a), a, nginx!.url + "missing.bin"]);
  assertEquals(sizes[0], corpus.contents[8].length);
  assertEquals(sizes[1], corpus.contents[8].length);
  assertEquals((sizes[2] as LsioError).code, "ENOENT");
});

test("remote: nothing listening → ECONNREFUSED for that chunk; the reader stays usable", async () => {
  await using reader = await Reader.open();
  const port = await freePort();
  const [refused, ok] = await reader.read([
    { path: `http://127.0.0.1:${port}/x.bin`, start: 0, end: 10 },
    { path: url(corpus.paths[5]), start: 0, end: 10 },
  ]);
  assertEquals((refused as LsioError).code, "ECONNREFUSED");
  assertEquals((refused as LsioError).httpStatus, undefined);
  assert((refused as LsioError).message.includes("(Couldn't connect to server)"), (refused as LsioError).message);
  assertEquals((ok as Uint8Array).byteLength, 10);
});

test("remote: a sharded Zarr array over HTTP (ShardedArray main thread and pool, LsioStore + zarrita) equals the local one", async () => {
  const r = rng(SEED + 11);
  const shape = [40, 36];
  const data = Uint16Array.from({ length: 40 * 36 }, () => randInt(r, 0, 65535));
  const local = path.join(corpus.dir, "images.zarr");
  await writeShardedArray(local, data, {
    shape,
    dtype: "uint16",
    shardShape: [20, 18],
    chunkShape: [5, 6],
    codecs: "zstd",
  });
  const remote = url(local);
  await using pool = await WorkerPool.open({ workers: 2 });
  await using a = await ShardedArray.open(local);
  await using b = await ShardedArray.open(remote + "/"); // a trailing slash is the same prefix
  for (let k = 0; k < 20; k++) {
    const y = randInt(r, 0, 39), x = randInt(r, 0, 35);
    const sel: [number, number][] = [[y, randInt(r, y, 40)], [x, randInt(r, x, 36)]];
    const want = Array.from((await a.read(sel)).data as Uint16Array);
    assertEquals(Array.from((await b.read(sel)).data as Uint16Array), want, `selection ${JSON.stringify(sel)}`);
    assertEquals(Array.from((await b.read(sel, { pool })).data as Uint16Array), want, "through the pool");
  }
  await using store = await LsioStore.open(remote);
  const viaZarrita = await zarr.get(await zarr.open.v3(zarr.root(store), { kind: "array" }));
  assertEquals(Array.from(viaZarrita.data as Uint16Array), Array.from(data));
  const missing = await assertRejects(() => ShardedArray.open(nginx!.url + "nothing.zarr"), LsioError);
  assertEquals([missing.code, missing.path], ["ENOENT", nginx!.url + "nothing.zarr/zarr.json"]);
});

/** Sockets this process has open. */
function socketCount(): number {
  let n = 0;
  for (const fd of fs.readdirSync("/proc/self/fd")) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith("socket:")) n++;
    } catch { /* closed meanwhile */ }
  }
  return n;
}

test("remote: 1000 batches leak nothing (sockets bounded by the connections, fds and memory flat, all closed with the reader)", async () => {
  const before = { fds: openFdCount(), sockets: socketCount() };
  const reader = await Reader.open({ remote: { inflight: 8 } });
  const r = rng(SEED + 5);
  const batch = () =>
    Array.from(
      { length: 16 },
      (_, k) =>
        k === 0
          ? { path: nginx!.url + "missing.bin" }
          : { path: url(corpus.paths[randInt(r, 7, 9)]), start: randInt(r, 0, 60_000), end: 65_000 },
    );
  // Collected before each measure (Bun.gc; Deno's test command passes --expose-gc), so RSS is the live memory:
  // without it the results' ArrayBuffers waiting for a collection moved RSS by 24-70 MiB in Deno (measured).
  const gc = () => {
    const g = globalThis as { Bun?: { gc(sync: boolean): void }; gc?: () => void };
    if (g.Bun) g.Bun.gc(true);
    else g.gc?.();
  };
  for (let i = 0; i < 50; i++) await reader.read(batch()); // warm: connections made, allocator settled
  gc();
  const warm = { fds: openFdCount(), sockets: socketCount(), rss: rssBytes() };
  for (let i = 0; i < 1000; i++) {
    const res = await reader.read(batch());
    if (!(res[0] instanceof LsioError) || !(res[1] instanceof Uint8Array)) throw new Error(`batch ${i} went wrong`);
  }
  gc();
  const after = { fds: openFdCount(), sockets: socketCount(), rss: rssBytes() };
  // 8 connections (a 16-range batch splits them 4 + 4 over the two threads of csrc/http.c), plus the socket pair
  // each of the two libcurl multi handles wakes its poll with.
  assert(
    after.sockets - before.sockets <= 8 + 2 * 2,
    `${after.sockets - before.sockets} sockets for 8 transfers in flight`,
  );
  assert(after.fds - warm.fds <= 2, `fds grew from ${warm.fds} to ${after.fds}`);
  // The batches read ≈ 500 MB in all, so a chunk's buffer kept per batch would show; collected, the same loop stays
  // within a few MiB (the bound leaves room for the allocator keeping freed pages).
  assert(after.rss - warm.rss < 64 << 20, `RSS grew by ${((after.rss - warm.rss) / 2 ** 20).toFixed(1)} MiB`);
  await reader.close();
  assert(socketCount() <= before.sockets, "the reader's connections are closed with it");
});

// ---- a fault-injecting server ----

/** What the fault server does, per path; `hits` counts requests per path. */
const faultData = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 13 + (i >> 8)) & 255));
const hits = new Map<string, number>();
let faultUrl = "";
let stalled: http.ServerResponse[] = [];

function rangeOf(req: http.IncomingMessage): [number, number] | undefined {
  const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
  return m ? [Number(m[1]), Number(m[2]) + 1] : undefined;
}

const faultServer = http.createServer((req, res) => {
  const p = new URL(req.url!, "http://x").pathname;
  const n = (hits.get(p) ?? 0) + 1;
  hits.set(p, n);
  const range = rangeOf(req);
  const sendRange = () => {
    if (req.method === "HEAD") {
      res.writeHead(200, { "content-length": faultData.length, "accept-ranges": "bytes" });
      return res.end();
    }
    const [s, e] = range ?? [0, faultData.length];
    res.writeHead(range ? 206 : 200, {
      "content-length": e - s,
      ...(range ? { "content-range": `bytes ${s}-${e - 1}/${faultData.length}` } : {}),
    });
    res.end(faultData.subarray(s, e));
  };
  if (p === "/ignore-range" && req.method !== "HEAD") { // 200 with the whole object, whatever was asked
    res.writeHead(200, { "content-length": faultData.length });
    return res.end(faultData);
  }
  if (p === "/flaky" && n <= 2) { // two 503 SlowDown answers, then the bytes
    res.writeHead(503, { "content-type": "application/xml" });
    return res.end("<Error><Code>SlowDown</Code></Error>");
  }
  if (p === "/always-503") {
    res.writeHead(503);
    return res.end();
  }
  if (p === "/truncated" && n === 1 && range) { // promises the range, sends half, drops the connection
    const [s, e] = range;
    res.writeHead(206, { "content-length": e - s, "content-range": `bytes ${s}-${e - 1}/${faultData.length}` });
    res.write(faultData.subarray(s, s + ((e - s) >> 1)));
    setTimeout(() => res.socket?.destroy(), 10);
    return;
  }
  if (p === "/stall" && req.method !== "HEAD") { // headers never come
    stalled.push(res);
    return;
  }
  if (p === "/wrong-range" && range) { // 206 for a range one byte later than asked
    const [s, e] = range;
    res.writeHead(206, { "content-length": e - s, "content-range": `bytes ${s + 1}-${e}/${faultData.length}` });
    return res.end(faultData.subarray(s + 1, e + 1));
  }
  if (p === "/forbidden") {
    res.writeHead(403);
    return res.end();
  }
  sendRange();
});

test("remote faults: the fault server starts on 127.0.0.1", async () => {
  const port = await freePort();
  await new Promise<void>((resolve) => faultServer.listen(port, "127.0.0.1", resolve));
  faultUrl = `http://127.0.0.1:${port}`;
});

test("remote faults: a server that ignores Range (200, whole object) still yields exactly the requested bytes", async () => {
  await using reader = await Reader.open();
  const res = await reader.read([
    { path: `${faultUrl}/ignore-range`, start: 1000, end: 1100 },
    { path: `${faultUrl}/ignore-range`, start: 150_000, end: 150_001 },
  ]);
  assertEquals(Array.from(res[0] as Uint8Array), Array.from(faultData.subarray(1000, 1100)));
  assertEquals(Array.from(res[1] as Uint8Array), [faultData[150_000]]);
});

test("remote faults: a 206 for another range than asked fails the chunk (EPROTO), never lands shifted", async () => {
  await using reader = await Reader.open();
  const dest = new Uint8Array(100).fill(7);
  const [n] = await reader.readInto([{ path: `${faultUrl}/wrong-range`, start: 1000, end: 1100, dest }]);
  assertEquals((n as LsioError).code, "EPROTO");
  assertEquals((n as LsioError).httpStatus, 206);
  assert(dest.every((b) => b === 7), "no byte of the wrong range was written");
});

test("remote faults: chunks a WorkerPool's workers fail carry the HTTP status and the server's code too", async () => {
  await using pool = await WorkerPool.open({ workers: 2, remote: { retries: 0 } });
  hits.clear();
  const out = await pool.map(
    {
      paths: [`${faultUrl}/plain`, `${faultUrl}/flaky`],
      file: Uint32Array.of(0, 1),
      start: Float64Array.of(0, 0),
      end: Float64Array.of(10, 10),
    },
    { transform: (chunk: Uint8Array) => chunk.length },
  );
  assertEquals(out[0], 10);
  const e = out[1] as LsioError;
  assert(e instanceof LsioError, `got ${out[1]}`);
  assertEquals([e.code, e.httpStatus, e.remoteCode], ["EIO", 503, "SlowDown"]);
});

test("remote faults: 503 SlowDown bursts and a truncated body are retried; 503 for good is EIO; 403 is EACCES", async () => {
  await using reader = await Reader.open();
  hits.clear();
  const res = await reader.read([
    { path: `${faultUrl}/flaky`, start: 10, end: 5000 },
    { path: `${faultUrl}/truncated`, start: 0, end: 100_000 },
    { path: `${faultUrl}/always-503`, start: 0, end: 10 },
    { path: `${faultUrl}/forbidden`, start: 0, end: 10 },
  ]);
  assertEquals(Buffer.from(res[0] as Uint8Array).equals(faultData.subarray(10, 5000)), true);
  assertEquals(Buffer.from(res[1] as Uint8Array).equals(faultData.subarray(0, 100_000)), true);
  assertEquals((res[2] as LsioError).code, "EIO");
  assertEquals((res[3] as LsioError).code, "EACCES");
  // The message says why: the HTTP status (and S3's code when the body has one).
  assertEquals([(res[2] as LsioError).httpStatus, (res[3] as LsioError).httpStatus], [503, 403]);
  assert((res[2] as LsioError).message.includes("(HTTP 503)"), (res[2] as LsioError).message);
  assert((hits.get("/flaky") ?? 0) >= 3, `flaky asked ${hits.get("/flaky")} times`);
  assert((hits.get("/truncated") ?? 0) >= 2, "the truncated body was asked again");
  assert((hits.get("/always-503") ?? 0) >= 3, "503 retried before giving up");
});

/** The CA bundle a reader without `remote.caFile` takes from the environment (machines here set both to the system's). */
const envCaFile = env("AWS_CA_BUNDLE") || env("CURL_CA_BUNDLE") || undefined;

test("remote faults: remote options bound retries and stalls (retries: 0 fails at once; stallMs → ETIMEDOUT)", async () => {
  await using strict = await Reader.open({ remote: { retries: 0, stallMs: 1000, inflight: 8 } });
  assertEquals(strict.info.remote, {
    inflight: 8,
    connections: 8,
    retries: 0,
    stallMs: 1000,
    retryMs: 30000,
    caFile: envCaFile,
  });
  hits.clear();
  // An explicit range takes no HEAD: the GET's 503 and its body (S3's error XML) make the message.
  const [flaky] = await strict.read([{ path: `${faultUrl}/flaky`, start: 0, end: 10 }]);
  assertEquals((flaky as LsioError).code, "EIO");
  assertEquals([(flaky as LsioError).httpStatus, (flaky as LsioError).remoteCode], [503, "SlowDown"]);
  assert(
    (flaky as LsioError).message.startsWith("Input/output error (HTTP 503 SlowDown): http://"),
    (flaky as LsioError).message,
  );
  assertEquals(hits.get("/flaky"), 1, "no retry");
  const t0 = performance.now();
  const [stall] = await strict.read([{ path: `${faultUrl}/stall`, start: 0, end: 10 }]);
  const took = performance.now() - t0;
  assertEquals((stall as LsioError).code, "ETIMEDOUT");
  assert(took >= 900 && took < 5000, `the stall was cut after ${took.toFixed(0)} ms`);
  for (const r of stalled) r.socket?.destroy();
  stalled = [];
  await using defaults = await Reader.open();
  assertEquals(defaults.info.remote, {
    inflight: 256,
    connections: 256,
    retries: 5,
    stallMs: 30000,
    retryMs: 30000,
    caFile: envCaFile,
  });
  await assertRejects(() => Reader.open({ remote: { inflght: 3 } as never }), TypeError, "inflight");
});

test("remote faults: an AbortSignal stops a stalled transfer within 100 ms; the reader stays usable", async () => {
  await using reader = await Reader.open();
  const ctrl = new AbortController();
  const t0 = performance.now();
  const pending = reader.read([{ path: `${faultUrl}/stall`, start: 0, end: 10 }], { signal: ctrl.signal });
  await new Promise((r) => setTimeout(r, 200));
  const t1 = performance.now();
  ctrl.abort(new Error("stop"));
  await assertRejects(() => pending, Error, "stop");
  const took = performance.now() - t1;
  assert(took < 100, `abort took ${took.toFixed(1)} ms`);
  assert(t1 - t0 >= 190);
  for (const r of stalled) r.socket?.destroy();
  stalled = [];
  const [again] = await reader.read([{ path: `${faultUrl}/plain`, start: 5, end: 9 }]);
  assertEquals(Array.from(again as Uint8Array), Array.from(faultData.subarray(5, 9)));
});

test("remote: cleanup", async () => {
  for (const r of stalled) r.socket?.destroy();
  faultServer.closeAllConnections?.();
  await new Promise<void>((resolve) => faultServer.close(() => resolve()));
  await nginx?.stop();
  removeDir(corpus.dir);
  removeDir(work);
});

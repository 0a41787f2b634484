// Network faults between LSIO and a real server: Toxiproxy (a TCP fault
// proxy, built by go install on first use) in front of nginx, both on
// 127.0.0.1. Latency is hidden by transfers in flight; connections cut after a
// few KiB (limit_data) are resumed where they stopped, byte-exact; resets are
// retried, and reported when they persist; bytes sliced into tiny packets
// arrive whole; a connection that goes silent (timeout toxic) ends in
// ETIMEDOUT or is stopped by an AbortSignal within 100 ms.
import * as path from "node:path";
import { type ChildProcess, spawn } from "node:child_process";
import { Buffer } from "node:buffer";
import { LsioError, Reader } from "../mod.ts";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { randInt, removeDir, rng, tempDir } from "./_helpers.ts";
import { goTool } from "./_go_tools.ts";
import { freePort, type Nginx, startNginx, stopProcess, waitForHttp } from "./_nginx.ts";
import { makeCorpus } from "./_ranges.ts";
import { test } from "./_shim.ts";

const SEED = 20261206;
const corpus = makeCorpus(SEED, "lsio-toxi-");
const work = tempDir("lsio-toxi-work-");
let nginx: Nginx | undefined;
let toxi: ChildProcess | undefined;
let api = "";
let base = ""; // the proxy's http://127.0.0.1:PORT/

async function toxiproxy(method: string, route: string, body?: unknown): Promise<void> {
  const r = await fetch(api + route, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw new Error(`toxiproxy ${method} ${route}: ${r.status} ${text}`);
}

/** Adds a toxic to the proxy, runs fn, removes it. */
async function withToxic(
  type: string,
  attributes: Record<string, number>,
  fn: () => Promise<void>,
  stream = "downstream",
  toxicity = 1,
): Promise<void> {
  await toxiproxy("POST", "/proxies/nginx/toxics", { name: type, type, stream, toxicity, attributes });
  try {
    await fn();
  } finally {
    await toxiproxy("DELETE", `/proxies/nginx/toxics/${type}`);
  }
}

/** n random ranges of the larger corpus files, and what each must read. */
function ranges(n: number, seed: number, maxLen: number) {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    const f = randInt(r, 7, 9); // 64 KiB, 1 MiB, 6 MiB
    const size = corpus.contents[f].length;
    const start = randInt(r, 0, size - 1), end = Math.min(size, start + randInt(r, 1, maxLen));
    return { path: base + path.basename(corpus.paths[f]), start, end, want: corpus.contents[f].subarray(start, end) };
  });
}

function assertAllRead(reqs: ReturnType<typeof ranges>, res: (Uint8Array | LsioError)[], what: string): void {
  for (let i = 0; i < reqs.length; i++) {
    const got = res[i];
    if (got instanceof LsioError) throw new Error(`${what}: request ${i} failed: ${got.message}`);
    if (!Buffer.from(got).equals(reqs[i].want)) throw new Error(`${what}: request ${i} differs`);
  }
}

test("toxiproxy: nginx behind Toxiproxy on 127.0.0.1", async () => {
  nginx = await startNginx(corpus.dir, path.join(work, "nginx"));
  const port = await freePort();
  toxi = spawn(goTool("toxiproxy"), ["-host", "127.0.0.1", "-port", String(port)], { stdio: "ignore" });
  api = `http://127.0.0.1:${port}`;
  await waitForHttp(`${api}/version`, 30_000, toxi);
  const listen = await freePort();
  await toxiproxy("POST", "/proxies", {
    name: "nginx",
    listen: `127.0.0.1:${listen}`,
    upstream: `127.0.0.1:${nginx.port}`,
  });
  base = `http://127.0.0.1:${listen}/`;
});

test("toxiproxy: 20 ms added to every response is hidden by the transfers in flight", async () => {
  await using reader = await Reader.open({ remote: { inflight: 32 } });
  const reqs = ranges(256, SEED, 8192);
  await withToxic("latency", { latency: 20 }, async () => {
    const t0 = performance.now();
    const res = await reader.read(reqs.map(({ path, start, end }) => ({ path, start, end })));
    const ms = performance.now() - t0;
    assertAllRead(reqs, res, "latency");
    // One at a time would take 256 × 20 ms ≈ 5.1 s; 32 in flight ≈ 8 rounds of 20 ms plus the connections.
    assert(ms < 2000, `256 ranges took ${ms.toFixed(0)} ms at 20 ms per response`);
  });
});

test("toxiproxy: connections cut after 16 KiB (limit_data) are resumed where they stopped, byte-exact", async () => {
  await using reader = await Reader.open({ remote: { inflight: 8, retries: 40 } });
  const reqs = ranges(24, SEED + 1, 120_000); // most need several connections
  await withToxic("limit_data", { bytes: 16384 }, async () => {
    const res = await reader.read(reqs.map(({ path, start, end }) => ({ path, start, end })));
    assertAllRead(reqs, res, "limit_data");
  });
});

test("toxiproxy: resets on half the connections are retried; resets on all are ECONNRESET; then it reads again", async () => {
  await using reader = await Reader.open({ remote: { inflight: 8, retries: 12 } });
  const reqs = ranges(64, SEED + 2, 4096);
  const plain = reqs.map(({ path, start, end }) => ({ path, start, end }));
  await withToxic(
    "reset_peer",
    { timeout: 0 },
    async () => {
      assertAllRead(reqs, await reader.read(plain), "half reset");
    },
    "downstream",
    0.5,
  );
  await using once = await Reader.open({ remote: { retries: 1 } });
  await withToxic("reset_peer", { timeout: 0 }, async () => {
    const [r] = await once.read(plain.slice(0, 1));
    assert(
      r instanceof LsioError && ["ECONNRESET", "EIO"].includes(r.code),
      `got ${r instanceof LsioError ? r.code : "bytes"}`,
    );
  });
  assertAllRead(reqs, await once.read(plain), "after the resets");
});

test("toxiproxy: bytes sliced into packets of a few bytes arrive whole and in place", async () => {
  await using reader = await Reader.open();
  const reqs = ranges(64, SEED + 3, 3000);
  await withToxic("slicer", { average_size: 16, size_variation: 12, delay: 0 }, async () => {
    assertAllRead(reqs, await reader.read(reqs.map(({ path, start, end }) => ({ path, start, end }))), "slicer");
  });
});

test("toxiproxy: a connection gone silent ends in ETIMEDOUT (stallMs), or stops at an abort within 100 ms", async () => {
  await using reader = await Reader.open({ remote: { stallMs: 1000, retries: 0 } });
  const [req] = ranges(1, SEED + 4, 4096);
  await withToxic("timeout", { timeout: 0 }, async () => {
    const t0 = performance.now();
    const [r] = await reader.read([{ path: req.path, start: req.start, end: req.end }]);
    assertEquals((r as LsioError).code, "ETIMEDOUT");
    assert(performance.now() - t0 < 5000);
    const ctrl = new AbortController();
    const pending = reader.read([{ path: req.path, start: req.start, end: req.end }], { signal: ctrl.signal });
    await new Promise((r) => setTimeout(r, 300));
    const t1 = performance.now();
    ctrl.abort(new Error("enough"));
    await assertRejects(() => pending, Error, "enough");
    assert(performance.now() - t1 < 100, `the abort took ${(performance.now() - t1).toFixed(0)} ms`);
  });
  const [again] = await reader.read([{ path: req.path, start: req.start, end: req.end }]);
  assert(Buffer.from(again as Uint8Array).equals(req.want), "the reader reads again once the link is back");
});

test("toxiproxy: cleanup", async () => {
  await stopProcess(toxi);
  await nginx?.stop();
  removeDir(work);
  removeDir(corpus.dir);
});

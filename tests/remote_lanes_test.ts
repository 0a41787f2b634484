// A reader runs a batch of remote objects beside another one (the core's
// second lane, csrc/reader.c): two batches against a slow server take about
// the time of one, not two; batches of local files still run one at a time on
// the ring's lane, beside remote ones; every value is right whatever runs
// beside it; close() with batches in flight finishes them and leaves nothing.
import * as path from "node:path";
import { Buffer } from "node:buffer";
import { LsioError, Reader } from "../mod.ts";
import { assert, assertEquals } from "./_assert.ts";
import { removeDir } from "./_helpers.ts";
import { makeCorpus } from "./_ranges.ts";
import { type RangeServer, rangeServer } from "./_range_server.ts";
import { test } from "./_shim.ts";

// Long enough that a scheduling stall on a loaded 2-core machine (a flake seen once at 150 ms: the
// slack of 1.6 x one batch was 90 ms) stays well inside the slack, short enough to keep the file quick.
const DELAY_MS = 400;
const corpus = makeCorpus(20261206, "lsio-lanes-");
let server: RangeServer | undefined;
const big = corpus.paths.filter((_p, i) => corpus.contents[i].length >= 65536);
const url = (p: string) => server!.url + path.basename(p);
/** 4 ranges of 4 KiB from big files, as local paths or URLs; with the bytes they hold. */
function batch(k: number, remote: boolean) {
  return Array.from({ length: 4 }, (_, i) => {
    const p = big[(k + i) % big.length];
    const start = 4096 * ((k * 7 + i) % 16);
    return { path: remote ? url(p) : p, start, end: start + 4096, local: p };
  });
}
function check(reqs: ReturnType<typeof batch>, res: (Uint8Array | LsioError)[]): void {
  for (let i = 0; i < reqs.length; i++) {
    const want = corpus.contents[corpus.paths.indexOf(reqs[i].local)].subarray(reqs[i].start, reqs[i].end);
    const got = res[i];
    assert(got instanceof Uint8Array, `request ${i}: ${got}`);
    assert(Buffer.from(got).equals(Buffer.from(want)), `request ${i} differs`);
  }
}
const plain = (reqs: ReturnType<typeof batch>) => reqs.map(({ path, start, end }) => ({ path, start, end }));

test(`lanes: a slow server (each GET answered after ${DELAY_MS} ms) starts`, async () => {
  server = await rangeServer(corpus.dir, { delayMs: DELAY_MS });
});

test("lanes: two remote batches at once take about one batch's time; values right", async () => {
  await using reader = await Reader.open();
  await reader.read(plain(batch(0, true))); // connections made
  const t0 = performance.now();
  check(batch(1, true), await reader.read(plain(batch(1, true))));
  const one = performance.now() - t0;
  const t1 = performance.now();
  const [a, b] = [batch(2, true), batch(3, true)];
  const [ra, rb] = await Promise.all([reader.read(plain(a)), reader.read(plain(b))]);
  const two = performance.now() - t1;
  check(a, ra);
  check(b, rb);
  // One after the other would be 2 x one (>= 800 ms); side by side about one.
  assert(two < 1.6 * one, `two batches at once: ${two.toFixed(0)} ms, one: ${one.toFixed(0)} ms`);
  assert(one >= DELAY_MS, `one batch ${one.toFixed(0)} ms`);
});

test("lanes: local, remote and mixed batches in flight together all read the right bytes", async () => {
  await using reader = await Reader.open();
  const jobs = Array.from({ length: 12 }, (_, k) => {
    const kind = k % 3; // 0 local, 1 remote, 2 mixed
    const reqs = kind === 0
      ? batch(k, false)
      : kind === 1
      ? batch(k, true)
      : [...batch(k, false), ...batch(k + 1, true)];
    return { reqs, done: reader.read(plain(reqs)) };
  });
  for (const j of jobs) check(j.reqs, await j.done);
});

test("lanes: close() with remote batches in flight lets them finish; later reads are refused", async () => {
  const reader = await Reader.open();
  const reqs = [batch(4, true), batch(5, true), batch(6, true)];
  const running = reqs.map((r) => reader.read(plain(r)).then((res) => ({ res }), (e) => ({ e })));
  await new Promise((r) => setTimeout(r, 20)); // the first two are in the core's lanes, the third waits
  await reader.close();
  const outcomes = await Promise.all(running);
  for (let i = 0; i < outcomes.length; i++) {
    const o = outcomes[i] as { res?: (Uint8Array | LsioError)[]; e?: unknown };
    if (o.e) {
      // Only a batch that had not reached the core yet may be refused: EBADF, the reader is closed.
      assert(o.e instanceof LsioError && o.e.code === "EBADF", `batch ${i}: ${o.e}`);
      continue;
    }
    // A batch in flight either finished or had its chunks cancelled by close (ECANCELED), never half-wrong.
    o.res!.forEach((x, j) => {
      if (x instanceof LsioError) assertEquals(x.code, "ECANCELED", `batch ${i} request ${j}`);
      else check([reqs[i][j]], [x]);
    });
  }
  let refused: unknown;
  await reader.read(plain(batch(7, true))).catch((e) => (refused = e));
  assert(refused instanceof LsioError && refused.code === "EBADF", `${refused}`);
});

test("lanes: cleanup", async () => {
  await server?.close();
  removeDir(corpus.dir);
});

// Every bad input gives its documented error, and the other chunks of the
// batch stay intact. Each case runs on both backends.
import * as fs from "node:fs";
import { spawnSync } from "node:child_process";
import process from "node:process";
import * as path from "node:path";
import { LsioError, Reader, type ReaderOptions } from "../mod.ts";
import { assert, assertEquals, assertInstanceOf, assertRejects, assertThrows } from "./_assert.ts";
import { bytesEqual, removeDir, tempDir, writeRandomFile } from "./_helpers.ts";
import { scriptCommand, test } from "./_shim.ts";

const dir = tempDir("lsio-errors-");
const good = writeRandomFile(dir, "good.bin", 10_000, 1);
const goodBytes = fs.readFileSync(good);
const empty = path.join(dir, "empty.bin");
fs.writeFileSync(empty, new Uint8Array(0));

function assertGood(got: Uint8Array | LsioError | number, start: number, end: number): void {
  assertInstanceOf(got, Uint8Array);
  assert(bytesEqual(got, goodBytes.subarray(start, end)), `bytes ${start}..${end} intact`);
}

function assertCode(got: unknown, code: string, p?: string): LsioError {
  assertInstanceOf(got, LsioError);
  assertEquals(got.code, code);
  if (p !== undefined) assertEquals(got.path, p);
  return got;
}

for (const backend of ["io_uring", "threads"] as const) {
  const open = (o: ReaderOptions = {}) => Reader.open({ backend, ...o });
  const t = (name: string, fn: () => Promise<void>) => test(`errors (${backend}): ${name}`, fn);

  t("missing file and directory fail alone", async () => {
    await using r = await open();
    const missing = path.join(dir, "missing.bin");
    const res = await r.read([
      { path: good, start: 0, end: 100 },
      { path: missing },
      { path: dir },
      { path: good, start: 9000 },
    ]);
    assertGood(res[0], 0, 100);
    const e = assertCode(res[1], "ENOENT", missing);
    assert(e.message.includes(missing), "the message names the path");
    assertCode(res[2], "EISDIR", dir);
    assertGood(res[3], 9000, 10_000);
  });

  t("empty file", async () => {
    await using r = await open();
    const res = await r.read([{ path: empty }, { path: empty, start: 0, end: 1 }, { path: empty, start: -1 }]);
    assertInstanceOf(res[0], Uint8Array);
    assertEquals(res[0].length, 0);
    assertCode(res[1], "ERANGE", empty);
    assertInstanceOf(res[2], Uint8Array); // a pure suffix longer than the file: the whole (empty) file
    assertEquals(res[2].length, 0);
    const [a, b] = await r.read([{ path: empty, start: 0, end: 1 }, { path: empty, start: -1 }], {
      pastEof: "truncate",
    });
    assertEquals([(a as Uint8Array).length, (b as Uint8Array).length], [0, 0]);
  });

  t("range past EOF: error by default, clamped with pastEof=truncate", async () => {
    await using r = await open();
    const res = await r.read([{ path: good, start: 9990, end: 10_001 }, { path: good, start: 20_000 }, {
      path: good,
      start: 5,
      end: 6,
    }]);
    const e = assertCode(res[0], "ERANGE", good);
    assertEquals(e.range, { start: 9990, end: 10_001 });
    assert(e.message.includes("9990..10001"), `message names the range: ${e.message}`);
    assertCode(res[1], "ERANGE", good);
    assertGood(res[2], 5, 6);
    await using t2 = await open({ pastEof: "truncate" });
    const [a, b] = await t2.read([{ path: good, start: 9990, end: 10_001 }, { path: good, start: 20_000 }]);
    assertGood(a, 9990, 10_000);
    assertEquals((b as Uint8Array).length, 0);
  });

  t("negative range before the start", async () => {
    await using r = await open();
    const [a, b, x] = await r.read([
      { path: good, start: -10_001, end: -1 },
      { path: good, start: -10_000, end: -9_990 },
      { path: good, start: -10_001 }, // a pure suffix longer than the file: all of it, as HTTP
    ]);
    assertCode(a, "ERANGE", good);
    assertGood(b, 0, 10);
    assertGood(x, 0, 10_000);
    const [c] = await r.read([{ path: good, start: -10_001, end: -1 }], { pastEof: "truncate" });
    assertGood(c, 0, 9_999);
  });

  t("zero-length ranges", async () => {
    await using r = await open();
    const res = await r.read([{ path: good, start: 7, end: 7 }, { path: good, start: 10_000, end: 10_000 }, {
      path: good,
      start: -3,
      end: -3,
    }]);
    for (const x of res) {
      assertInstanceOf(x, Uint8Array);
      assertEquals(x.length, 0);
    }
  });

  t("file truncated between planning and reading: ENODATA, other chunks intact", async () => {
    const p = writeRandomFile(dir, `shrinks-${backend}.bin`, 100_000, 7);
    const before = fs.readFileSync(p);
    await using r = await open();
    const plan = await r.plan([{ path: p, start: 0, end: 1000 }, { path: p, start: 50_000 }, { path: good, start: 0 }]);
    assertEquals(plan.lengthOf(1), 50_000);
    fs.truncateSync(p, 20_000);
    const [a, b, c] = await r.read(plan);
    assertInstanceOf(a, Uint8Array);
    assert(bytesEqual(a, before.subarray(0, 1000)));
    assertCode(b, "ENODATA", p);
    assertGood(c, 0, 10_000);
    assertThrows(() => plan.lengthOf(0), TypeError, "already read");
  });

  t("destination too small for an open range: ENOBUFS; too small for an explicit one: RangeError", async () => {
    await using r = await open();
    const small = new Uint8Array(100);
    const [a, b] = await r.readInto([{ path: good, start: -200, dest: small }, {
      path: good,
      start: 0,
      end: 50,
      dest: small.subarray(0, 50),
    }]);
    assertCode(a, "ENOBUFS", good);
    assertEquals(b, 50);
    await assertRejects(
      () => r.readInto([{ path: good, start: 0, end: 101, dest: small }]),
      RangeError,
      "does not fit",
    );
  });

  t("a read larger than 2 GiB", async () => {
    const p = path.join(dir, `big-${backend}.bin`);
    const size = 2 ** 31 + 3 * 2 ** 20 + 17; // sparse: costs no disk
    const fd = fs.openSync(p, "w");
    const marks: [number, number][] = [[0, 11], [2 ** 31 - 1, 22], [2 ** 31, 33], [size - 1, 44]];
    for (const [at, v] of marks) fs.writeSync(fd, new Uint8Array([v]), 0, 1, at);
    fs.closeSync(fd);
    try {
      await using r = await open();
      const [got] = await r.read([{ path: p }]);
      assertInstanceOf(got, Uint8Array);
      assertEquals(got.length, size);
      for (const [at, v] of marks) assertEquals(got[at], v, `byte ${at}`);
      assertEquals(got[2 ** 31 + 5], 0);
    } finally {
      fs.rmSync(p);
    }
  });

  t("file index out of range in a columnar batch: EINVAL for that chunk", async () => {
    await using r = await open();
    const res = await r.readColumnar({
      paths: [good],
      file: new Uint32Array([0, 5]),
      start: new Float64Array([0, 0]),
      end: new Float64Array([10, 10]),
    });
    assertGood(res.chunk(0), 0, 10);
    assertCode(res.chunk(1), "EINVAL");
  });
}

test("errors: no permission gives EACCES (run as an unprivileged user when we are root)", () => {
  const secret = writeRandomFile(dir, "secret.bin", 100, 3);
  fs.chmodSync(secret, 0o000);
  fs.chmodSync(dir, 0o755);
  const script = new URL("./fixtures/read_paths.ts", import.meta.url).pathname;
  const isRoot = process.getuid?.() === 0;
  const denoDir = tempDir("lsio-denodir-");
  fs.chmodSync(denoDir, 0o777);
  const argv = scriptCommand(script, secret, good);
  // As root every file is readable: drop to "nobody" for this one child.
  const cmd = isRoot ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ...argv] : argv;
  const out = spawnSync(cmd[0], cmd.slice(1), {
    env: { ...process.env, DENO_DIR: denoDir, BUN_INSTALL_CACHE_DIR: denoDir, HOME: denoDir },
  });
  removeDir(denoDir);
  const text = String(out.stdout);
  assertEquals(out.status, 0, String(out.stderr));
  const results = JSON.parse(text);
  assertEquals(results[0].code, "EACCES");
  assertEquals(results[0].path, secret);
  assertEquals(results[1].length, 10_000);
});

test("errors: invalid arguments throw TypeError/RangeError before any I/O", async () => {
  await using r = await Reader.open();
  await assertRejects(() => r.read([{ path: 42 as unknown as string }]), TypeError, "string");
  await assertRejects(() => r.read([{ path: "a\0b" }]), TypeError, "NUL");
  await assertRejects(() => r.read([{ path: good, start: 1.5 }]), TypeError, "safe integer");
  await assertRejects(() => r.read([{ path: good, start: 0, end: NaN }]), TypeError, "safe integer");
  await assertRejects(() => r.read([{ path: good, start: 10, end: 5 }]), RangeError, "ends before it starts");
  await assertRejects(() => r.read(null as unknown as []), TypeError);
  await assertRejects(() => Reader.open({ queueDepth: 0 }), RangeError, "queueDepth");
  await assertRejects(() => Reader.open({ queueDepth: 5000 }), RangeError, "queueDepth");
  await assertRejects(() => Reader.open({ backend: "nope" as "auto" }), TypeError, "backend");
  await assertRejects(() => Reader.open({ pastEof: "maybe" as "error" }), TypeError, "pastEof");
  await assertRejects(
    () => r.readColumnar({ paths: [good], file: new Uint32Array(2), start: new Float64Array(3) }),
    RangeError,
  );
  await assertRejects(
    () =>
      r.readColumnar({
        paths: [good],
        file: new Uint32Array(1),
        start: new Float64Array(1),
        dest: { buffer: new Uint8Array(10), offsets: new Float64Array([11]) },
      }),
    RangeError,
    "outside",
  );
});

test("errors: a closed reader rejects with EBADF; close is idempotent", async () => {
  const r = await Reader.open();
  await r.close();
  await r.close();
  assert(r.closed);
  const e = await assertRejects(() => r.read([{ path: good }]), LsioError);
  assertEquals(e.code, "EBADF");
});

test("errors: cleanup", () => {
  removeDir(dir);
});

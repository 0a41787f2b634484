// The FFI layer under each runtime, including the Bun pitfalls we handle on
// purpose: FFIType.buffer as an enum value in dlopen, ptr() of small typed
// arrays after JIT tier-up, no nonblocking calls, dlopen from several Workers.
import * as fs from "node:fs";
import { Reader } from "../mod.ts";
import { checkRuntimeVersion } from "../ffi/mod.ts";
import { assert, assertEquals, assertInstanceOf, assertThrows } from "./_assert.ts";
import { removeDir, tempDir, writeRandomFile } from "./_helpers.ts";
import { runtime, test, testOnly } from "./_shim.ts";

const dir = tempDir("lsio-ffi-");
const file = writeRandomFile(dir, "data.bin", 1 << 20, 11);
const bytes = fs.readFileSync(file);

testOnly(
  "bun",
  "Deno has no FFIType enum",
  'ffi: FFIType.buffer as an enum value vs the string "buffer" in dlopen',
  async () => {
    const ffi = await import("bun:ffi" as string);
    const lib = (await Reader.open()).info.libraryPath;
    // The string form is what ffi/bun.ts uses; it must load and call.
    const ok = ffi.dlopen(lib, { lsio_reader_get_info: { args: ["ptr", "buffer"], returns: "i32" } });
    assertEquals(ok.symbols.lsio_reader_get_info(0, new Uint32Array(6)), -22); // NULL reader: -EINVAL
    ok.close();
    // The enum value: record what this Bun does, and make sure our adapter never depends on it.
    let enumWorks: boolean;
    try {
      const viaEnum = ffi.dlopen(lib, {
        lsio_reader_get_info: { args: [ffi.FFIType.ptr, ffi.FFIType.buffer], returns: ffi.FFIType.i32 },
      });
      enumWorks = viaEnum.symbols.lsio_reader_get_info(0, new Uint32Array(6)) === -22;
      viaEnum.close();
    } catch {
      enumWorks = false;
    }
    const adapter = fs.readFileSync(new URL("../ffi/bun.ts", import.meta.url), "utf8");
    assert(!/FFIType\./.test(adapter.replace(/\/\/.*|\/\*[\s\S]*?\*\//g, "")), "ffi/bun.ts uses type strings only");
    console.log(
      `FFIType.buffer enum in dlopen under Bun ${
        (globalThis as unknown as { Bun: { version: string } }).Bun.version
      }: ${enumWorks ? "works" : "fails"}`,
    );
  },
);

test(`ffi (${runtime}): tens of thousands of small batches after JIT tier-up read the right bytes`, async () => {
  // Small typed arrays whose pointers C keeps for a whole batch: exactly the
  // case where a stale ptr() would show. Each batch checks its bytes.
  await using r = await Reader.open();
  for (let k = 0; k < 20_000; k++) {
    const off = (k * 4099) % (bytes.length - 64);
    const dest = new Uint8Array(16);
    const [n] = await r.readInto([{ path: file, start: off, end: off + 16, dest }]);
    assertEquals(n, 16);
    for (let j = 0; j < 16; j++) if (dest[j] !== bytes[off + j]) throw new Error(`batch ${k}: byte ${j} differs`);
  }
});

test(`ffi (${runtime}): the library loads in several Workers at once`, async () => {
  const workerUrl = new URL("./fixtures/read_worker.ts", import.meta.url);
  const n = 4;
  const results = await Promise.all(
    Array.from(
      { length: n },
      (_, i) =>
        new Promise<{ ok: boolean; sum: number; backend: string }>((resolve, reject) => {
          const w = new Worker(workerUrl.href, { type: "module" });
          w.onmessage = (e) => {
            resolve(e.data);
            w.terminate();
          };
          w.onerror = (e) => {
            e.preventDefault?.();
            reject(new Error(`worker ${i}: ${e.message}`));
            w.terminate();
          };
          w.postMessage({ file, start: i * 1000, end: i * 1000 + 1000 });
        }),
    ),
  );
  results.forEach((res, i) => {
    assert(res.ok, `worker ${i}`);
    let sum = 0;
    for (let j = i * 1000; j < i * 1000 + 1000; j++) sum += bytes[j];
    assertEquals(res.sum, sum, `worker ${i} read the right bytes`);
  });
});

test(`ffi (${runtime}): a runtime older than we support is refused with a clear error`, () => {
  assertThrows(() => checkRuntimeVersion("bun", "1.3.9"), Error, "1.4");
  checkRuntimeVersion("bun", "1.4.0");
  checkRuntimeVersion("bun", "2.0.0");
  checkRuntimeVersion("deno", "2.0.0");
});

test(`ffi (${runtime}): the library is found through LSIO_LIBRARY_PATH, else the local build, else a clear error`, async () => {
  const { locateLibrary } = await import("../ffi/library.ts");
  const lib = (await Reader.open()).info.libraryPath;
  assertEquals(locateLibrary((k) => (k === "LSIO_LIBRARY_PATH" ? lib : undefined), () => true, "linux"), lib);
  assertThrows(
    () => locateLibrary((k) => (k === "LSIO_LIBRARY_PATH" ? "/nowhere/liblsio.so" : undefined), () => false, "linux"),
    Error,
    "LSIO_LIBRARY_PATH",
  );
  assert(locateLibrary(() => undefined, (p) => p.endsWith("zig-out/lib/liblsio.so"), "linux").endsWith("liblsio.so"));
  const e = assertThrows(() => locateLibrary(() => undefined, () => false, "linux"), Error, "zig build");
  assertInstanceOf(e, Error);
  assert(e.message.includes("LSIO_LIBRARY_PATH"), "the error names the env var too");
});

test("ffi: cleanup", () => removeDir(dir));

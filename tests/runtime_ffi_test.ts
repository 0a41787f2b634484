// The FFI layer under each runtime, including the Bun pitfalls we handle on
// purpose: FFIType.buffer as an enum value in dlopen, ptr() of small typed
// arrays after JIT tier-up, no nonblocking calls, dlopen from several Workers.
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { spawnSync } from "node:child_process";
import { Reader } from "../mod.ts";
import { checkRuntimeVersion } from "../ffi/mod.ts";
import type { LookupHost } from "../ffi/library.ts";
import { ABI_VERSION } from "../ffi/native.ts";
import { VERSION } from "../ffi/version.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./_assert.ts";
import { removeDir, tempDir, writeRandomFile } from "./_helpers.ts";
import { env, runtime, scriptCommand, test, testOnly } from "./_shim.ts";

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

test(`ffi (${runtime}): the library is found through LSIO_LIBRARY_PATH, else the local build, else the platform package, else the documented error`, async () => {
  const { locateLibrary, notFoundMessage } = await import("../ffi/library.ts");
  const lib = (await Reader.open()).info.libraryPath;
  const host = (over: Partial<LookupHost>): LookupHost => ({
    env: () => undefined,
    exists: () => false,
    platform: "linux",
    arch: "x64",
    resolvePackage: () => undefined,
    ...over,
  });
  // 1. The variable, which must point at a file.
  assertEquals(
    await locateLibrary(host({ env: (k) => (k === "LSIO_LIBRARY_PATH" ? lib : undefined), exists: () => true })),
    lib,
  );
  await assertRejects(
    () => locateLibrary(host({ env: (k) => (k === "LSIO_LIBRARY_PATH" ? "/nowhere/liblsio.so" : undefined) })),
    Error,
    "LSIO_LIBRARY_PATH points at /nowhere/liblsio.so",
  );
  // 2. The checkout's build, beside the sources (not the working directory).
  const local = await locateLibrary(host({ exists: (p) => p.endsWith("/zig-out/lib/liblsio.so") }));
  assertEquals(local, new URL("../zig-out/lib/liblsio.so", import.meta.url).pathname);
  // 3. The platform package for this machine, resolved by name (Node resolution), then (Deno) an npm: import.
  const asked: string[] = [];
  const inPackage = "/x/node_modules/@light-speed-io/linux-arm64-gnu/index.js";
  const found = await locateLibrary(host({
    arch: "arm64",
    resolvePackage: (name) => (asked.push(name), name === "@light-speed-io/linux-arm64-gnu" ? inPackage : undefined),
    exists: (p) => p === "/x/node_modules/@light-speed-io/linux-arm64-gnu/liblsio.so",
  }));
  assertEquals(found, "/x/node_modules/@light-speed-io/linux-arm64-gnu/liblsio.so");
  assertEquals(asked, ["@light-speed-io/linux-arm64-gnu"]);
  assertEquals(
    await locateLibrary(
      host({
        platform: "darwin",
        arch: "arm64",
        importNpm: (p) => Promise.resolve(`/npm/${p}/liblsio.dylib`),
        exists: (p) => p.startsWith("/npm/"),
      }),
    ),
    "/npm/darwin-arm64/liblsio.dylib",
  );
  // 4. Nowhere: the error names the platform, the package and both ways out, word for word.
  const e = await assertRejects(() => locateLibrary(host({})), Error);
  assertEquals(e.message, notFoundMessage("linux-x64-gnu", "linux"));
  assertEquals(
    e.message,
    "The LSIO native library for linux-x64-gnu was not found. It comes in the npm package " +
      "@light-speed-io/linux-x64-gnu, an optional dependency of light-speed-io that is not installed here " +
      "(--omit=optional or --no-optional skips it). Either install it (npm install @light-speed-io/linux-x64-gnu@" +
      VERSION + '), or build the library from a clone of light-speed-io ("bash .ci/setup" builds ' +
      "zig-out/lib/liblsio.so) and set LSIO_LIBRARY_PATH to its path.",
  );
  const win = await assertRejects(() => locateLibrary(host({ platform: "win32", arch: "x64" })), Error);
  assert(win.message.includes("@light-speed-io/win32-x64") && win.message.includes("lsio.dll"), win.message);
  const odd = await assertRejects(() => locateLibrary(host({ platform: "freebsd", arch: "x64" })), Error);
  assert(odd.message.includes("for freebsd-x64 was not found: LSIO has no prebuilt library for it"), odd.message);
});

test(`ffi (${runtime}): a library of another ABI version is refused at load with a clear error`, () => {
  // A stand-in library that says ABI 3, loaded through LSIO_LIBRARY_PATH in a child process.
  const fake = path.join(dir, "libfake.so");
  const src = path.join(dir, "fake.c");
  fs.writeFileSync(src, "unsigned lsio_abi_version(void) { return 3; }\n");
  const zig = env("LSIO_ZIG") ?? new URL("../.tools/ziglang/ziglang/zig", import.meta.url).pathname;
  const cc = spawnSync(zig, ["cc", "-shared", "-fPIC", "-o", fake, src], { encoding: "utf8" });
  assertEquals(cc.status, 0, cc.stderr);
  const script = path.join(dir, "open.ts");
  fs.writeFileSync(
    script,
    `import { Reader } from ${JSON.stringify(new URL("../mod.ts", import.meta.url).href)};\n` +
      "try { await Reader.open(); console.log('opened'); } catch (e) { console.log(String(e.message)); }\n",
  );
  const [cmd, ...args] = scriptCommand(script);
  const r = spawnSync(cmd, args, { encoding: "utf8", env: { ...process.env, LSIO_LIBRARY_PATH: fake } });
  assert(r.stdout.includes(`speaks ABI 3, this code speaks ${ABI_VERSION}`), r.stdout + r.stderr);
});

test("ffi: cleanup", () => removeDir(dir));

// The entry points: the core (mod.ts, `light-speed-io`) loads no Zarr code
// and no zarrita; `light-speed-io/zarr` (zarr.ts) holds the Zarr parts; the
// module-internal channels are not part of the public types.
import { spawnSync } from "node:child_process";
import process from "node:process";
import * as core from "../mod.ts";
import * as zarrEntry from "../zarr.ts";
import { assert, assertEquals } from "./_assert.ts";
import { test, testOnly } from "./_shim.ts";

const ROOT = new URL("..", import.meta.url).pathname;

testOnly(
  "deno",
  "needs deno info (the static module graph)",
  "entry points: the core's module graph holds no Zarr module and no zarrita; the zarr entry's does",
  () => {
    const graph = (entry: string) => {
      const r = spawnSync(process.execPath, ["info", "--json", entry], { cwd: ROOT, encoding: "utf8" });
      assertEquals(r.status, 0, r.stderr);
      return (JSON.parse(r.stdout).modules as { specifier: string }[]).map((m) => m.specifier);
    };
    const coreModules = graph("mod.ts");
    assert(coreModules.length > 5, coreModules.join("\n"));
    assertEquals(coreModules.filter((m) => m.includes("zarrita") || m.includes("/src/zarr/")), []);
    const zarrModules = graph("zarr.ts");
    assert(zarrModules.some((m) => m.includes("zarrita")), "the zarr entry loads zarrita");
  },
);

test("entry points: the core exports no Zarr names; the zarr entry exports them", () => {
  for (const name of ["ShardedArray", "LsioStore", "writeShardedArray", "ZarrFormatError", "crc32c"]) {
    assert(!(name in core), `${name} is not in the core`);
    assert(name in zarrEntry, `${name} is in light-speed-io/zarr`);
  }
  for (const name of ["Reader", "WorkerPool", "LsioError", "allocAligned", "detectProfile", "DTYPES"]) {
    assert(name in core, `${name} is in the core`);
  }
});

test("entry points: internal methods are not on the public classes", () => {
  const names = (o: object) => Object.getOwnPropertyNames(o).filter((n) => n.startsWith("_"));
  assertEquals(names(core.Reader.prototype), []);
  assertEquals(names(core.WorkerPool.prototype), []);
  assertEquals(names(core.ReadPlan.prototype), []);
  assertEquals(names(core.ColumnarResult.prototype), []);
});

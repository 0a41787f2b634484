// One version for every package: package.json, deno.json, ffi/version.ts and
// the npm: specifiers Deno uses to fetch the platform packages agree, and
// those specifiers cover exactly the platforms .ci/pack builds.
import * as fs from "node:fs";
import { platformPackage, PLATFORMS } from "../ffi/library.ts";
import { VERSION } from "../ffi/version.ts";
import { assertEquals } from "./_assert.ts";
import { test } from "./_shim.ts";

const read = (f: string) => fs.readFileSync(new URL(`../${f}`, import.meta.url), "utf8");

test("versions: package.json, deno.json and ffi/version.ts name one version", () => {
  assertEquals(JSON.parse(read("package.json")).version, VERSION);
  assertEquals(JSON.parse(read("deno.json")).version, VERSION);
});

test("versions: Deno's npm: imports of the platform packages name every platform, at this version", () => {
  const specs = [...read("ffi/_deno_npm.ts").matchAll(/import\("npm:(@light-speed-io\/[\w-]+)@([^"]+)"\)/g)];
  assertEquals(specs.map((m) => m[1]).sort(), PLATFORMS.map(platformPackage).sort());
  for (const m of specs) assertEquals(m[2], VERSION, `${m[1]} is imported at ${m[2]}`);
});

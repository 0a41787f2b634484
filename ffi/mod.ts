/**
 * Loads the native library for the runtime we run on, once.
 *
 * @module
 */
import { ABI_VERSION, type Native } from "./native.ts";

/** Oldest runtime versions LSIO supports (Bun: dlopen from several Workers at once). */
const MINIMUM: Record<string, [number, number]> = { bun: [1, 4], deno: [2, 0] };

/** Throws when `version` of `runtime` is older than LSIO supports. */
export function checkRuntimeVersion(runtime: string, version: string): void {
  const min = MINIMUM[runtime];
  if (!min) return;
  const [major, minor] = version.split(".").map(Number);
  if (major > min[0] || (major === min[0] && minor >= min[1])) return;
  throw new Error(
    `LSIO needs ${runtime} ${min.join(".")} or newer, this is ${version}` +
      (runtime === "bun" ? " (older Bun crashes when several Workers dlopen a library at once)" : ""),
  );
}

let loaded: Promise<Native> | undefined;

/** The native library, loaded on first use. */
export function native(): Promise<Native> {
  loaded ??= load();
  return loaded;
}

async function load(): Promise<Native> {
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  if (g.Bun) checkRuntimeVersion("bun", g.Bun.version);
  else if (g.Deno) checkRuntimeVersion("deno", g.Deno.version.deno);
  // A variable specifier keeps each runtime's type checker off the other's file.
  const adapter = g.Bun ? "./bun.ts" : "./deno.ts";
  const mod = await import(adapter) as { openNative(): Native };
  const lib = mod.openNative();
  const abi = lib.abiVersion();
  if (abi !== ABI_VERSION) {
    throw new Error(
      `The LSIO native library at ${lib.path} speaks ABI ${abi}, this code speaks ${ABI_VERSION}: rebuild it with "bash .ci/setup"`,
    );
  }
  return lib;
}

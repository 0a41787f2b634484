/**
 * Loads the native library for the runtime we run on, once.
 *
 * @module
 */
import { ABI_VERSION, type Native } from "./native.ts";

let loaded: Promise<Native> | undefined;

/** The native library, loaded on first use. */
export function native(): Promise<Native> {
  loaded ??= load();
  return loaded;
}

async function load(): Promise<Native> {
  // A variable specifier keeps each runtime's type checker off the other's file.
  const adapter = "Bun" in globalThis ? "./bun.ts" : "./deno.ts";
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

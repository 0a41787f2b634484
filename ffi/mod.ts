/**
 * Loads the native library for the runtime we run on, once.
 *
 * @module
 */
import { existsSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import process from "node:process";
import { locateLibrary, type LookupHost } from "./library.ts";
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

/** ".ts" when running from the sources, ".js" from the compiled npm package. */
const EXT = import.meta.url.endsWith(".js") ? ".js" : ".ts";

let loaded: Promise<Native> | undefined;

/** The lookup's view of this runtime: node:fs, node:module and (Deno from sources) npm: imports. */
function lookupHost(deno: boolean): LookupHost {
  return {
    env: (name) => {
      try {
        return process.env[name];
      } catch {
        return undefined; // Deno without --allow-env
      }
    },
    exists: (p) => {
      try {
        return existsSync(p) && statSync(p).isFile();
      } catch {
        return false;
      }
    },
    platform: process.platform,
    arch: process.arch,
    resolvePackage: (name) => {
      try {
        return createRequire(import.meta.url).resolve(name);
      } catch {
        return undefined; // not installed, or this module is not in a node_modules tree (a URL)
      }
    },
    importNpm: deno
      ? async (platform) => {
        const mod = await import(`./_deno_npm${EXT}`) as { importPlatform(p: string): Promise<string | undefined> };
        return await mod.importPlatform(platform);
      }
      : undefined,
  };
}

/** The native library, loaded on first use. */
export function native(): Promise<Native> {
  loaded ??= load();
  return loaded;
}

async function load(): Promise<Native> {
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  if (g.Bun) checkRuntimeVersion("bun", g.Bun.version);
  else if (g.Deno) checkRuntimeVersion("deno", g.Deno.version.deno);
  else {
    throw new Error(
      `LSIO runs under Deno or Bun, whose FFI loads its native library; this runtime has neither ` +
        `(Node ${process.versions.node ?? "?"}): run the script with deno or bun`,
    );
  }
  const path = await locateLibrary(lookupHost(!g.Bun && !!g.Deno));
  const mod: { probeAbi(path: string): number; openNative(path: string): Native } = g.Bun
    ? await import("./bun.ts")
    : await import("./deno.ts");
  const abi = mod.probeAbi(path);
  if (abi !== ABI_VERSION) {
    throw new Error(
      `The LSIO native library at ${path} speaks ABI ${abi}, this code speaks ${ABI_VERSION}: ` +
        `use the library of the same light-speed-io version (rebuild it with "bash .ci/setup" in a clone, or ` +
        `reinstall the platform package), or point LSIO_LIBRARY_PATH at one`,
    );
  }
  return mod.openNative(path);
}

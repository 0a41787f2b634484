/**
 * Finds the native library, in this order (the way @db/sqlite and the
 * esbuild / napi-rs packages do):
 *
 * 1. an explicit path in the `LSIO_LIBRARY_PATH` environment variable;
 * 2. the local build when running from a checkout (`zig-out/lib/` beside
 *    this package's sources);
 * 3. the platform package (`@light-speed-io/linux-x64-gnu`, …), an optional
 *    dependency of `light-speed-io`, resolved relative to this module (never
 *    the working directory): through Node's resolution where this module sits
 *    in a node_modules tree (npm, Bun, Deno's `npm:`), else — Deno running the
 *    sources from JSR or a URL — through an `npm:` import;
 * 4. an error that names the platform, the package it looked for and the two
 *    ways out.
 *
 * @module
 */
import { VERSION } from "./version.ts";

/** The environment variable that points at a prebuilt library. */
export const LIBRARY_ENV = "LSIO_LIBRARY_PATH";

/** File name of the library on this OS (`process.platform` or `Deno.build.os` names). */
export function libraryFileName(os: string): string {
  if (os === "windows" || os === "win32") return "lsio.dll";
  if (os === "darwin") return "liblsio.dylib";
  return "liblsio.so";
}

/** The platforms LSIO ships a library for: `platform-arch[-libc]` as the packages are named. */
export const PLATFORMS = ["linux-x64-gnu", "linux-arm64-gnu", "darwin-arm64", "darwin-x64", "win32-x64"] as const;

/** The platform package's name for `platform` (`linux-x64-gnu` → `@light-speed-io/linux-x64-gnu`). */
export function platformPackage(platform: string): string {
  return `@light-speed-io/${platform}`;
}

/**
 * This machine's platform in the packages' naming: Node's `process.platform`
 * and `process.arch`, and on Linux the C library (`gnu`, or `musl` where
 * musl's loader is present).
 */
export function currentPlatform(
  platform: string,
  arch: string,
  exists: (path: string) => boolean,
): string {
  const os = platform === "windows" ? "win32" : platform;
  const cpu = arch === "x86_64" ? "x64" : arch === "aarch64" ? "arm64" : arch;
  if (os !== "linux") return `${os}-${cpu}`;
  const musl = exists(`/lib/ld-musl-${cpu === "x64" ? "x86_64" : "aarch64"}.so.1`);
  return `linux-${cpu}-${musl ? "musl" : "gnu"}`;
}

/** The error when no library is found: the platform, the package, and the two ways out. */
export function notFoundMessage(platform: string, os: string): string {
  const build = `build the library from a clone of light-speed-io ("bash .ci/setup" builds zig-out/lib/${
    libraryFileName(os)
  }) and set ${LIBRARY_ENV} to its path.`;
  if (!(PLATFORMS as readonly string[]).includes(platform)) {
    return `The LSIO native library for ${platform} was not found: LSIO has no prebuilt library for it ` +
      `(there are: ${PLATFORMS.join(", ")}). To use LSIO here, ${build}`;
  }
  const pkg = platformPackage(platform);
  return `The LSIO native library for ${platform} was not found. It comes in the npm package ${pkg}, ` +
    `an optional dependency of light-speed-io that is not installed here (--omit=optional or --no-optional ` +
    `skips it). Either install it (npm install ${pkg}@${VERSION}), or ${build}`;
}

/** What the lookup needs from the runtime it runs on. */
export interface LookupHost {
  /** Reads an environment variable. */
  env(name: string): string | undefined;
  /** Whether a file exists. */
  exists(path: string): boolean;
  /** `process.platform`-style OS name and `process.arch`-style CPU name. */
  platform: string;
  arch: string;
  /** Resolves a package's main module relative to this module (Node resolution); undefined when it cannot. */
  resolvePackage(name: string): string | undefined;
  /** Deno only: the `libraryPath` a platform package exports, through an `npm:` import. */
  importNpm?(platform: string): Promise<string | undefined>;
}

/** Where the library is (see the module docs for the order); throws the documented error when nowhere. */
export async function locateLibrary(host: LookupHost): Promise<string> {
  const explicit = host.env(LIBRARY_ENV);
  if (explicit) {
    if (!host.exists(explicit)) throw new Error(`${LIBRARY_ENV} points at ${explicit}, which does not exist`);
    return explicit;
  }
  const file = libraryFileName(host.platform);
  // 2. A checkout: zig-out/lib beside the sources (this module is ffi/library.ts).
  const here = new URL(import.meta.url);
  if (here.protocol === "file:") {
    const local = decodeURIComponent(new URL(`../zig-out/lib/${file}`, here).pathname);
    if (host.exists(local)) return local;
  }
  // 3. The platform package.
  const platform = currentPlatform(host.platform, host.arch, host.exists);
  const main = host.resolvePackage(platformPackage(platform));
  if (main) {
    const lib = main.replace(/[^/\\]+$/, file);
    if (host.exists(lib)) return lib;
  }
  const fromNpm = await host.importNpm?.(platform);
  if (fromNpm && host.exists(fromNpm)) return fromNpm;
  throw new Error(notFoundMessage(platform, host.platform));
}

/**
 * Finds the native library, the way @db/sqlite does: an explicit path in the
 * `LSIO_LIBRARY_PATH` environment variable, else the local build
 * (`zig-out/lib/` next to this package), else a clear error that says how to
 * build it.
 *
 * @module
 */

/** The environment variable that points at a prebuilt library. */
export const LIBRARY_ENV = "LSIO_LIBRARY_PATH";

/** File name of the library on this OS. */
export function libraryFileName(os: string): string {
  if (os === "windows" || os === "win32") return "lsio.dll";
  if (os === "darwin") return "liblsio.dylib";
  return "liblsio.so";
}

/**
 * Picks the library path. `env` reads an environment variable, `exists` tells
 * whether a file is there; both are passed in so each runtime uses its own.
 */
export function locateLibrary(
  env: (name: string) => string | undefined,
  exists: (path: string) => boolean,
  os: string,
): string {
  const explicit = env(LIBRARY_ENV);
  if (explicit) {
    if (!exists(explicit)) {
      throw new Error(
        `${LIBRARY_ENV} points at ${explicit}, which does not exist`,
      );
    }
    return explicit;
  }
  const local = new URL(
    `../zig-out/lib/${libraryFileName(os)}`,
    import.meta.url,
  );
  const path = decodeURIComponent(local.pathname);
  if (exists(path)) return path;
  throw new Error(
    `The LSIO native library was not found at ${path}. ` +
      `Build it with "bash .ci/setup" (or ".tools/ziglang/ziglang/zig build -Doptimize=ReleaseFast") ` +
      `in the package directory, or set ${LIBRARY_ENV} to the path of a built ${libraryFileName(os)}.`,
  );
}

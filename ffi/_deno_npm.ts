// Deno running LSIO's sources (from JSR, a URL or a checkout) gets the native
// library from the same npm platform package npm and Bun users install: an
// `npm:` import of it, fetched on first use. One literal import per platform,
// so each stays analyzable; only this machine's is ever loaded. The specifiers
// carry their registry and version (no bare names through deno.json): these
// sources are also run by URL, where no import map applies.

/** The library path the platform package exports, or undefined when it cannot be had. */
export async function importPlatform(platform: string): Promise<string | undefined> {
  try {
    const mod = await load(platform);
    return mod?.libraryPath;
  } catch {
    return undefined; // not in the registry, offline, or no permission: the caller explains
  }
}

function load(platform: string): Promise<{ libraryPath: string }> | undefined {
  switch (platform) {
    case "linux-x64-gnu":
      // deno-lint-ignore no-import-prefix
      return import("npm:@light-speed-io/linux-x64-gnu@0.1.0");
    case "linux-arm64-gnu":
      // deno-lint-ignore no-import-prefix
      return import("npm:@light-speed-io/linux-arm64-gnu@0.1.0");
    case "darwin-arm64":
      // deno-lint-ignore no-import-prefix
      return import("npm:@light-speed-io/darwin-arm64@0.1.0");
    case "darwin-x64":
      // deno-lint-ignore no-import-prefix
      return import("npm:@light-speed-io/darwin-x64@0.1.0");
    case "win32-x64":
      // deno-lint-ignore no-import-prefix
      return import("npm:@light-speed-io/win32-x64@0.1.0");
  }
  return undefined;
}

/**
 * The package version. The main package, every platform package and the JSR
 * package move together (.ci/pack checks package.json and deno.json agree).
 *
 * @module
 */

/** light-speed-io's version. */
export const VERSION = "0.1.0";

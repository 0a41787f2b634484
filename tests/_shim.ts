// One test API for both runtimes: Deno.test under Deno, bun:test under Bun,
// so every test file runs unchanged in both (like Deno std's and
// deno_python's shims). Plus the few process helpers tests need, on
// node: builtins that both runtimes implement.
import process from "node:process";

/** The runtime the tests run in. */
export const runtime: "deno" | "bun" = "Bun" in globalThis ? "bun" : "deno";

type TestFn = () => void | Promise<void>;

// bun:test's default timeout is 5 s; some of our tests (100 000 files, a
// 2 GiB read) take longer on a loaded 2-core machine.
const TIMEOUT_MS = 10 * 60 * 1000;

// A variable specifier keeps Deno's type checker away from "bun:test".
const bunTestModule = "bun:test";
const bunTest: ((name: string, fn: TestFn, timeout: number) => void) | undefined = runtime === "bun"
  ? (await import(bunTestModule)).test
  : undefined;

/** Registers a test with the runtime's own runner. */
export function test(name: string, fn: TestFn): void {
  if (bunTest) bunTest(name, fn, TIMEOUT_MS);
  else Deno.test(name, fn);
}

/**
 * A test that can only run on one runtime: registered on both, so it is
 * counted everywhere, with the reason in its name where it cannot run.
 */
export function testOnly(only: "deno" | "bun", why: string, name: string, fn: TestFn): void {
  if (runtime === only) test(name, fn);
  else test(`${name} [not run under ${runtime}: ${why}]`, () => {});
}

/** argv that runs a script file with the current runtime. */
export function scriptCommand(script: string, ...args: string[]): string[] {
  return runtime === "bun" ? [process.execPath, script, ...args] : [process.execPath, "run", "-A", script, ...args];
}

/** An environment variable. */
export function env(name: string): string | undefined {
  return process.env[name];
}

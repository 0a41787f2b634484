// Deno std's assertion names on top of node:assert, because JSR (where
// @std/assert lives) is not reachable from our machines. Same signatures as
// std for the parts we use.
import nodeAssert from "node:assert";

export class AssertionError extends Error {
  override name = "AssertionError";
}

export function assert(expr: unknown, msg = "Assertion failed"): asserts expr {
  if (!expr) throw new AssertionError(msg);
}

export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  msg === undefined ? nodeAssert.deepStrictEqual(actual, expected) : nodeAssert.deepStrictEqual(actual, expected, msg);
}

export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  msg === undefined
    ? nodeAssert.notDeepStrictEqual(actual, expected)
    : nodeAssert.notDeepStrictEqual(actual, expected, msg);
}

export function assertStrictEquals<T>(actual: unknown, expected: T, msg?: string): asserts actual is T {
  msg === undefined ? nodeAssert.strictEqual(actual, expected) : nodeAssert.strictEqual(actual, expected, msg);
}

export function assertGreater(actual: number, expected: number, msg?: string): void {
  if (!(actual > expected)) throw new AssertionError(msg ?? `Expected ${actual} > ${expected}`);
}

export function assertLess(actual: number, expected: number, msg?: string): void {
  if (!(actual < expected)) throw new AssertionError(msg ?? `Expected ${actual} < ${expected}`);
}

export function assertLessOrEqual(actual: number, expected: number, msg?: string): void {
  if (!(actual <= expected)) throw new AssertionError(msg ?? `Expected ${actual} <= ${expected}`);
}

// deno-lint-ignore no-explicit-any
type Ctor<T> = abstract new (...args: any[]) => T;

export function assertInstanceOf<T>(actual: unknown, type: Ctor<T>, msg?: string): asserts actual is T {
  if (!(actual instanceof type)) {
    throw new AssertionError(
      msg ?? `Expected an instance of ${type.name}, got ${actual?.constructor?.name ?? typeof actual}: ${actual}`,
    );
  }
}

function checkError<E extends Error>(e: unknown, type?: Ctor<E>, includes?: string): E {
  if (type && !(e instanceof type)) {
    throw new AssertionError(`Expected error ${type.name}, got ${(e as Error)?.constructor?.name}: ${e}`);
  }
  if (includes !== undefined && !String((e as Error)?.message).includes(includes)) {
    throw new AssertionError(`Expected message to include ${JSON.stringify(includes)}, got ${(e as Error)?.message}`);
  }
  return e as E;
}

export function assertThrows<E extends Error = Error>(fn: () => unknown, type?: Ctor<E>, includes?: string): E {
  try {
    fn();
  } catch (e) {
    return checkError(e, type, includes);
  }
  throw new AssertionError("Expected function to throw");
}

export async function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  type?: Ctor<E>,
  includes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (e) {
    return checkError(e, type, includes);
  }
  throw new AssertionError("Expected promise to reject");
}

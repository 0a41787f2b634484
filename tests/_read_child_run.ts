// Runs tests/_read_child.ts (a reader in a process of its own) with an
// environment of the test's making: for what libcurl and LSIO take from the
// environment (proxy variables, CA bundles). The variables that would change
// the outcome are dropped from this process's environment first.
import { spawn } from "node:child_process";
import process from "node:process";
import { scriptCommand } from "./_shim.ts";

const CHILD = new URL("./_read_child.ts", import.meta.url).pathname;

/** One request's outcome in the child: its length and byte sum, or its error. */
export interface ChildResult {
  length?: number;
  sum?: number;
  code?: string;
  message?: string;
}
/** When the child's reader could not open: the error's code and path. */
export interface ChildOpenError {
  openError?: string;
  path?: string;
}

/** Runs the child reader with `env` added to this process's environment; its parsed output. */
export function readInChild(
  requests: object[],
  env: Record<string, string>,
  readerOptions: object = {},
): Promise<ChildResult[] & ChildOpenError> {
  const [cmd, ...args] = scriptCommand(CHILD, JSON.stringify(requests), JSON.stringify(readerOptions));
  const base = { ...process.env };
  for (
    const k of [
      "http_proxy",
      "HTTP_PROXY",
      "https_proxy",
      "HTTPS_PROXY",
      "ALL_PROXY",
      "all_proxy",
      "NO_PROXY",
      "no_proxy",
      "AWS_CA_BUNDLE",
      "CURL_CA_BUNDLE",
    ]
  ) {
    delete base[k];
  }
  return new Promise((resolve, reject) => {
    // Asynchronous: the servers answering the child live in this process's event loop.
    const child = spawn(cmd, args, { env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    child.stdout.on("data", (d) => out += d);
    child.stderr.on("data", (d) => err += d);
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`child exited ${code}: ${err}`));
      resolve(JSON.parse(out.trim().split("\n").at(-1)!));
    });
  });
}

// versitygw (a real S3 server over a local folder) on 127.0.0.1, for the
// remote-storage tests and benches: started by whoever needs it, stopped after.
//
// It runs with --keep-alive: without it versitygw answers every request with
// `Connection: close`, so each GET costs a new TCP connection (measured: the
// same client then reuses none) — no real S3 endpoint does that, and it would
// hide what a client does with its connections. --quiet drops its per-request
// stdout log.
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { goTool } from "./_go_tools.ts";
import { freePort, stopProcess, waitForHttp } from "./_nginx.ts";

/** A running versitygw. */
export interface Versitygw {
  /** `http://127.0.0.1:PORT`: a bucket is a sub-folder of the root, an object a file. */
  endpoint: string;
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts versitygw (built into .tools/ on first use) over `root`, the root account `accessKey`/`secretKey`. */
export async function startVersitygw(root: string, accessKey: string, secretKey: string): Promise<Versitygw> {
  const port = await freePort();
  const child = spawn(goTool("versitygw"), ["--port", `127.0.0.1:${port}`, "--keep-alive", "--quiet", "posix", root], {
    env: { ...process.env, ROOT_ACCESS_KEY: accessKey, ROOT_SECRET_KEY: secretKey },
    stdio: "ignore",
  });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitForHttp(endpoint, 30_000, child);
  return { endpoint, port, child, stop: () => stopProcess(child) };
}

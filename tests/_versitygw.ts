// versitygw (a real S3 server over a local folder) on 127.0.0.1, for the
// remote-storage tests and benches: started by whoever needs it, stopped after.
//
// It runs with --keep-alive: without it versitygw answers every request with
// `Connection: close`, so each GET costs a new TCP connection (measured: the
// same client then reuses none) — no real S3 endpoint does that, and it would
// hide what a client does with its connections. --quiet drops its per-request
// stdout log.
//
// Its read buffer is 64 KiB instead of its default 1 MiB: versitygw allocates
// (and so zeroes) a fresh `bufio.Reader` of that size for every ranged GET, so
// a 4 KiB GET cost it ≈ 630 µs of CPU, half of it clearing memory and
// collecting it (`perf`: runtime.memclrNoHeapPointers 12 % under
// buildGetObjectBody, plus the GC); no real S3 endpoint charges a megabyte per
// small GET. It is the server's setting, the same for every client of a bench
// row; VGW_POSIX_IO_BUFFER_SIZE in the environment overrides it (bench/README.md,
// "versitygw's read buffer").
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
    env: {
      ...process.env,
      ROOT_ACCESS_KEY: accessKey,
      ROOT_SECRET_KEY: secretKey,
      VGW_POSIX_IO_BUFFER_SIZE: process.env.VGW_POSIX_IO_BUFFER_SIZE ?? String(64 * 1024),
    },
    stdio: "ignore",
  });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitForHttp(endpoint, 30_000, child);
  return { endpoint, port, child, stop: () => stopProcess(child) };
}

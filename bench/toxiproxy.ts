/**
 * Toxiproxy for the benches: started on 127.0.0.1, a proxy per server that
 * adds a fixed time to every response (its `latency` toxic, downstream) — the
 * kernel here has no netem, so this is how a round trip gets longer.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { freePort, waitForHttp } from "../tests/_nginx.ts";
import { goTool } from "../tests/_go_tools.ts";

/** A running Toxiproxy. */
export interface Toxiproxy {
  /** A new proxy named `name` to 127.0.0.1:`upstream` adding `ms` to every response; the port it listens on. */
  latencyProxy(name: string, upstream: number, ms: number): Promise<number>;
  /** Stops the Toxiproxy process. */
  stop(): void;
}

/** Starts Toxiproxy (built into .tools/ on first use) and waits for its API. */
export async function startToxiproxy(): Promise<Toxiproxy> {
  const port = await freePort();
  const child: ChildProcess = spawn(goTool("toxiproxy"), ["-host", "127.0.0.1", "-port", String(port)], {
    stdio: "ignore",
  });
  const api = `http://127.0.0.1:${port}`;
  await waitForHttp(`${api}/version`, 30_000, child);
  const post = async (path: string, body: unknown) => {
    const r = await fetch(`${api}${path}`, { method: "POST", body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`toxiproxy ${path}: ${r.status} ${await r.text()}`);
    await r.body?.cancel();
  };
  return {
    async latencyProxy(name, upstream, ms) {
      const listen = await freePort();
      await post("/proxies", { name, listen: `127.0.0.1:${listen}`, upstream: `127.0.0.1:${upstream}` });
      await post(`/proxies/${name}/toxics`, {
        name: "rtt",
        type: "latency",
        stream: "downstream",
        attributes: { latency: ms },
      });
      return listen;
    },
    stop: () => void child.kill("SIGTERM"),
  };
}

// nginx (Debian's) serving a folder on 127.0.0.1, for the remote-storage
// tests: a real HTTP/1.1 server with keep-alive and byte ranges (and, given a
// certificate, https with HTTP/2). Started by the test that needs it (one
// process, no master, no daemon), stopped after.
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";

const NGINX = "/usr/sbin/nginx";

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Waits until `url` answers (any status), or throws after `ms`. */
export async function waitForHttp(url: string, ms = 20_000, child?: ChildProcess): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child && child.exitCode !== null) throw new Error(`the server for ${url} exited (${child.exitCode})`);
    try {
      const r = await fetch(url);
      await r.body?.cancel();
      return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing answered on ${url} within ${ms} ms`);
}

/**
 * A private CA and a server certificate for 127.0.0.1 it signed (PEM files in
 * `dir`, made by openssl): `cert` and `key` for the server, `ca` for the
 * clients to trust. (A self-signed CA certificate served as the server's own
 * is refused by rustls, Deno's TLS: a CA used as an end entity.)
 */
export function makeCertificate(dir: string): { cert: string; key: string; ca: string } {
  const f = (name: string) => path.join(dir, name);
  const run = (args: string[]) => {
    const r = spawnSync("openssl", args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  };
  const days = ["-days", "2"];
  run(
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", ...days, "-subj", "/CN=LSIO test CA"]
      .concat(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
      .concat(["-keyout", f("ca.key"), "-out", f("ca.pem")]),
  );
  run([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/CN=127.0.0.1",
    "-keyout",
    f("key.pem"),
    "-out",
    f("cert.csr"),
  ]);
  fs.writeFileSync(
    f("cert.ext"),
    "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
  );
  run(["x509", "-req", "-in", f("cert.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial", ...days]
    .concat(["-extfile", f("cert.ext"), "-out", f("cert.pem")]));
  return { cert: f("cert.pem"), key: f("key.pem"), ca: f("ca.pem") };
}

/** Waits until something accepts TCP connections on 127.0.0.1:`port`, or throws after `ms`. */
export async function waitForPort(port: number, ms = 20_000, child?: ChildProcess): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child && child.exitCode !== null) throw new Error(`the server on port ${port} exited (${child.exitCode})`);
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listened on port ${port} within ${ms} ms`);
}

/** Stops a server process the test started (SIGTERM) and waits until it is gone. */
export function stopProcess(child: ChildProcess | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

export interface Nginx {
  /** `http://127.0.0.1:PORT/` (`https://` with `tls`): a file ROOT/x is URL + "x". */
  url: string;
  port: number;
  /** Where requests are logged with `accessLog`. */
  accessLog: string;
  /** The nginx process (one: no master process unless `workers` > 1). */
  pid: number;
  stop(): Promise<void>;
}

/** Installs nginx with apt-get when it is missing (tests/run.sh's machines have root). */
export function ensureNginx(): void {
  if (fs.existsSync(NGINX)) return;
  const r = spawnSync("bash", [
    "-c",
    "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx",
  ], {
    encoding: "utf8",
  });
  if (r.status !== 0 || !fs.existsSync(NGINX)) throw new Error(`could not install nginx:\n${r.stdout}\n${r.stderr}`);
}

export interface NginxOptions {
  /** Worker processes (default 1). */
  workers?: number;
  /** Serve https (and HTTP/2, offered by ALPN) with this certificate and key (PEM files). */
  tls?: { cert: string; key: string };
  /** Log each request as "PROTOCOL STATUS CONNECTION RANGE" to {@linkcode Nginx.accessLog}. */
  accessLog?: boolean;
}

/** nginx serving `root` on 127.0.0.1 (its config, logs and pid in `work`). */
export async function startNginx(root: string, work: string, options: NginxOptions = {}): Promise<Nginx> {
  const workers = options.workers ?? 1;
  ensureNginx();
  const port = await freePort();
  fs.mkdirSync(path.join(work, "tmp"), { recursive: true });
  const conf = path.join(work, "nginx.conf");
  const temps = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((t) => `  ${t}_temp_path ${work}/tmp/${t};`).join("\n");
  fs.writeFileSync(
    conf,
    `daemon off;
master_process ${workers > 1 ? "on" : "off"};
worker_processes ${workers};
pid ${work}/nginx.pid;
error_log ${work}/error.log warn;
events { worker_connections 4096; }
http {
${
      options.accessLog
        ? `  log_format lsio '$server_protocol $status $connection "$http_range"';\n  access_log ${work}/access.log lsio;`
        : "  access_log off;"
    }
${temps}
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  server {
    listen 127.0.0.1:${port}${options.tls ? " ssl http2" : ""};
${
      options.tls
        ? `    ssl_certificate ${options.tls.cert};\n    ssl_certificate_key ${options.tls.key};\n`
        : ""
    }    root ${root};
    location / { }
  }
}
`,
  );
  const child = spawn(NGINX, ["-c", conf, "-p", work], { stdio: "ignore" });
  const url = `${options.tls ? "https" : "http"}://127.0.0.1:${port}/`;
  // https: this process does not trust the certificate, so wait for the port instead of an answer.
  if (options.tls) await waitForPort(port, 20_000, child);
  else await waitForHttp(url, 20_000, child);
  return {
    url,
    port,
    accessLog: path.join(work, "access.log"),
    pid: child.pid!,
    stop: () => stopProcess(child),
  };
}

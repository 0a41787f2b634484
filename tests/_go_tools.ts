// The Go programs the remote-storage tests start (a real S3 server, a TCP
// fault proxy), built from the Go module proxy with `go install` into
// .tools/gobin/ on first use (versitygw ≈ 3 min the first time, then cached;
// Go's module and build caches are kept by the machine).
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import process from "node:process";

const ROOT = path.resolve(new URL("..", import.meta.url).pathname);
const GOBIN = path.join(ROOT, ".tools", "gobin");

/** The pinned tools: binary name → module path@version. */
export const GO_TOOLS = {
  versitygw: "github.com/versity/versitygw/cmd/versitygw@v1.8.0",
  toxiproxy: "github.com/Shopify/toxiproxy/v2/cmd/server@v2.5.0",
} as const;

/** The path of a pinned Go tool, building it when missing or of another version. */
export function goTool(name: keyof typeof GO_TOOLS): string {
  const pkg = GO_TOOLS[name];
  const built = path.join(GOBIN, pkg.split("@")[0].split("/").at(-1)!); // go install names it after the last path element
  const bin = path.join(GOBIN, name);
  const stamp = `${bin}.version`;
  if (fs.existsSync(bin) && fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === pkg) return bin;
  fs.mkdirSync(GOBIN, { recursive: true });
  const r = spawnSync("go", ["install", pkg], {
    encoding: "utf8",
    env: { ...process.env, GOBIN, GOFLAGS: "-mod=mod" },
    timeout: 20 * 60 * 1000,
  });
  if (r.status !== 0) throw new Error(`go install ${pkg} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  if (built !== bin) fs.renameSync(built, bin);
  fs.writeFileSync(stamp, pkg);
  return bin;
}

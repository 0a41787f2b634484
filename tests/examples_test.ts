// The remote example runs as documented under this runtime: its array over
// HTTP (served by its child process) equals the local one, and the second
// epoch is served from the cache entirely.
import { spawnSync } from "node:child_process";
import { assert } from "./_assert.ts";
import { scriptCommand, test } from "./_shim.ts";

test("examples: remote_crops.ts reads its array over HTTP like the local one; epoch 2 all from the cache", () => {
  const [cmd, ...args] = scriptCommand(new URL("../examples/remote_crops.ts", import.meta.url).pathname, "--batches=6");
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 300_000 });
  const out = r.stdout + r.stderr;
  assert(r.status === 0, `exit ${r.status}: ${out}`);
  assert(out.includes("equals the local array: yes"), out);
  const epoch = (n: number) =>
    new RegExp(`epoch ${n}: .* cache hits ([\\d,]+) / ([\\d,]+) ranges, checksum (\\d+)`).exec(out);
  const [e1, e2] = [epoch(1), epoch(2)];
  assert(e1 && e2, out);
  assert(e2[1] === e2[2], `epoch 2: ${e2[1]} hits of ${e2[2]} ranges`);
  assert(e1[3] === e2[3], "both epochs read the same values");
});

/**
 * Runs one benchmark process: peak RSS from `/usr/bin/time -f %M` (the
 * kernel's ru_maxrss of the child), `@progress done total` lines from its
 * stderr, OS threads of its process tree sampled every 50 ms.
 *
 * @module
 */
export interface Ran {
  code: number;
  stdout: string;
  /** Stderr without the progress lines. */
  stderr: string;
  peakRssBytes: number | undefined;
  peakThreads: number | undefined;
}

const TIME = "/usr/bin/time";
const haveTime = (() => {
  try {
    return Deno.statSync(TIME).isFile;
  } catch {
    return false;
  }
})();

function procThreads(pid: number): number {
  try {
    const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/^Threads:\s+(\d+)/m);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
      const s = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/children`).trim();
      if (s) out.push(...s.split(/\s+/).map(Number));
    }
  } catch {
    // gone
  }
  return out;
}

/** Threads of every descendant of `pid` (not `pid` itself: it is /usr/bin/time). */
function treeThreads(pid: number): number {
  let n = 0;
  const stack = childrenOf(pid);
  while (stack.length) {
    const p = stack.pop()!;
    n += procThreads(p);
    stack.push(...childrenOf(p));
  }
  return n;
}

export async function run(argv: string[], onProgress: (done: number, total: number) => void): Promise<Ran> {
  const rssFile = haveTime ? Deno.makeTempFileSync({ prefix: "lsio-bench-rss-" }) : undefined;
  const full = rssFile ? [TIME, "-f", "%M", "-o", rssFile, ...argv] : argv;
  const child = new Deno.Command(full[0], { args: full.slice(1), stdout: "piped", stderr: "piped", stdin: "null" })
    .spawn();
  let peakThreads = 0;
  const sampler = setInterval(() => {
    const n = rssFile ? treeThreads(child.pid) : procThreads(child.pid);
    if (n > peakThreads) peakThreads = n;
  }, 50);
  const other: string[] = [];
  const readErr = (async () => {
    let rest = "";
    for await (const piece of child.stderr.pipeThrough(new TextDecoderStream())) {
      rest += piece;
      let nl;
      while ((nl = rest.indexOf("\n")) >= 0) {
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        const m = line.match(/^@progress (\d+) (\d+)$/);
        if (m) onProgress(Number(m[1]), Number(m[2]));
        else other.push(line);
      }
    }
    if (rest) other.push(rest);
  })();
  const stdout = await new Response(child.stdout).text();
  await readErr;
  const status = await child.status;
  clearInterval(sampler);
  let peakRssBytes: number | undefined;
  if (rssFile) {
    const text = Deno.readTextFileSync(rssFile).trim().split("\n");
    const kib = Number(text[text.length - 1]);
    if (Number.isFinite(kib) && kib > 0) peakRssBytes = kib * 1024;
    Deno.removeSync(rssFile);
  }
  return {
    code: status.code,
    stdout,
    stderr: other.join("\n"),
    peakRssBytes,
    peakThreads: peakThreads || undefined,
  };
}

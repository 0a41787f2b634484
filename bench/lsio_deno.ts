// LSIO under Deno: `deno run -A bench/lsio_deno.ts <spec>`.
import { main } from "./lsio_run.ts";

await main();

// LSIO under Bun: `bun bench/lsio_bun.ts <spec>`. Prints a skip line when
// `../mod.ts` cannot load its native library under Bun.
import { main } from "./lsio_run.ts";

await main();

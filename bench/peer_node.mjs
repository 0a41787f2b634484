// Entry point of the node:fs peers under Node and under Deno's Node compatibility.
import { main } from "./peer_fs.mjs";

await main();

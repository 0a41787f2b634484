"""One tensorstore row of bench/remote.ts (http-small, s3-small): the spec's
ranges read through tensorstore's http or s3 kvstore (`KvStore.read` with a
byte range), `concurrency` reads in flight at once (a window of futures; the
kvstore's own request-concurrency limit set to the same number), bytes copied
into one slab; prints {"seconds", "checksum", "cpu"} as bench/remote_peer.py does
(fastest of `repeat`)."""
import json
import os
import sys
import time

import tensorstore as ts

from remote_peer import checksum, load_ranges


def open_store(spec):
    limit = spec["concurrency"]
    if spec.get("s3"):
        s3 = spec["s3"]
        # tensorstore's s3 kvstore takes credentials from the environment (the AWS SDK's chain).
        os.environ["AWS_ACCESS_KEY_ID"] = s3["accessKeyId"]
        os.environ["AWS_SECRET_ACCESS_KEY"] = s3["secretAccessKey"]
        return ts.KvStore.open({
            "driver": "s3",
            "bucket": spec["bucket"],
            "endpoint": s3["endpoint"],
            "aws_region": "us-east-1",
            "path": "",
            "context": {"s3_request_concurrency": {"limit": limit}},
        }).result()
    return ts.KvStore.open({
        "driver": "http",
        "base_url": spec["base"],
        "context": {"http_request_concurrency": {"limit": limit}},
    }).result()


def main(spec):
    pairs, n, size, slab = load_ranges(spec)
    store = open_store(spec)
    keys = spec["keys"]
    window = spec["concurrency"]
    best, cpu = float("inf"), 0.0
    for _ in range(spec["repeat"]):
        t, c = time.perf_counter(), time.process_time()
        futures = []
        done = 0
        for i in range(n):
            s = pairs[2 * i + 1]
            futures.append(store.read(keys[pairs[2 * i]], byte_range=slice(s, s + size)))
            if len(futures) - done >= window:  # keep `window` in flight: wait for the oldest
                r = futures[done].result()
                slab[done * size:(done + 1) * size] = r.value
                futures[done] = None
                done += 1
        while done < n:
            r = futures[done].result()
            slab[done * size:(done + 1) * size] = r.value
            done += 1
        best = min(best, time.perf_counter() - t)
        cpu += time.process_time() - c
    print(json.dumps({"seconds": best, "checksum": checksum(slab, n, size), "cpu": cpu}))


if __name__ == "__main__":
    main(json.loads(sys.argv[-1]))

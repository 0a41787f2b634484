#!/usr/bin/env python3
# csrc/tests/sigv4_reference.py — prints the SigV4 vectors of test_core.c's t_sigv4 case, computed by an
# independent implementation (Python's hashlib and hmac, written from the AWS S3 SigV4 docs). Run it to
# regenerate them: python3 csrc/tests/sigv4_reference.py

import hashlib, hmac, datetime
def sign(method, url, t, ak, sk, region, token=None):
    scheme, rest = url.split("://", 1)
    host, path = rest.split("/", 1); path = "/" + path
    if scheme == "https" and host.endswith(":443"): host = host[:-4]
    if scheme == "http" and host.endswith(":80"): host = host[:-3]
    stamp = datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    hdrs = {"host": host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-date": stamp}
    if token: hdrs["x-amz-security-token"] = token
    names = sorted(hdrs)
    canon = "\n".join([method, path, "", *[f"{n}:{hdrs[n]}" for n in names], "", ";".join(names), "UNSIGNED-PAYLOAD"])
    scope = f"{stamp[:8]}/{region}/s3/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canon.encode()).hexdigest()])
    k = ("AWS4" + sk).encode()
    for m in (stamp[:8], region, "s3", "aws4_request"):
        k = hmac.new(k, m.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    return f"x-amz-date: {stamp}", f"Authorization: AWS4-HMAC-SHA256 Credential={ak}/{scope}, SignedHeaders={';'.join(names)}, Signature={sig}"
SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
print(sign("GET", "http://127.0.0.1:9000/bucket/a%20b/c.bin", 1369353600, "AKIDEXAMPLE", SK, "us-east-1"))
print(sign("HEAD", "https://bucket.s3.eu-west-1.amazonaws.com:443/k", 1369353600 + 86400 + 3661, "AKIDEXAMPLE", SK, "eu-west-1", "tok/en+="))

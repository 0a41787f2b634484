// S3 SigV4 request signing for the bench's own S3 clients (Deno and Bun,
// WebCrypto only): a `fetch` that signs for zarrita's FetchStore (zarrita has
// no S3 store; a user reading a private bucket with it passes a signing fetch
// like this one), and the PUTs that upload the benches' objects into
// versitygw, so the objects carry ETags (tensorstore's s3 kvstore insists on
// them; objects copied straight into versitygw's folder have none).
//
// Signed: host, x-amz-content-sha256 (UNSIGNED-PAYLOAD, which versitygw
// requires and accepts) and x-amz-date. Path-style addressing, no query keys
// beyond what the URL already has (sorted as SigV4 wants).
import * as fs from "node:fs";

/** Where an S3-compatible server is and who we are there. */
export interface S3Endpoint {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region?: string;
}

const enc = new TextEncoder();
const hex = (b: ArrayBuffer) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, "0")).join("");
const sha256 = async (s: string) => hex(await crypto.subtle.digest("SHA-256", enc.encode(s)));
async function hmac(key: ArrayBuffer | Uint8Array<ArrayBuffer>, data: string): Promise<ArrayBuffer> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", k, enc.encode(data));
}

/** RFC 3986 encoding of one query component, as SigV4 canonicalizes it. */
const encodeQuery = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * A `fetch` for `Request`s to `s3.endpoint` that adds SigV4 headers (the
 * signing key is derived once per UTC day and reused).
 */
export function signedFetch(s3: S3Endpoint): (request: Request) => Promise<Response> {
  const region = s3.region ?? "us-east-1";
  let day = "", key: CryptoKey | undefined;
  return async (request) => {
    const amzDate = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
    const date = amzDate.slice(0, 8);
    if (date !== day || !key) {
      let k = await hmac(enc.encode(`AWS4${s3.secretAccessKey}`), date);
      for (const part of [region, "s3", "aws4_request"]) k = await hmac(k, part);
      key = await crypto.subtle.importKey("raw", k, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      day = date;
    }
    const url = new URL(request.url);
    const query = [...url.searchParams].map(([k, v]) => `${encodeQuery(k)}=${encodeQuery(v)}`).sort().join("&");
    const headers = new Headers(request.headers);
    headers.set("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
    headers.set("x-amz-date", amzDate);
    const signed = "host;x-amz-content-sha256;x-amz-date";
    const canonical = [
      request.method,
      url.pathname,
      query,
      `host:${url.host}\nx-amz-content-sha256:UNSIGNED-PAYLOAD\nx-amz-date:${amzDate}\n`,
      signed,
      "UNSIGNED-PAYLOAD",
    ].join("\n");
    const scope = `${date}/${region}/s3/aws4_request`;
    const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${await sha256(canonical)}`;
    const signature = hex(await crypto.subtle.sign("HMAC", key, enc.encode(toSign)));
    headers.set(
      "authorization",
      `AWS4-HMAC-SHA256 Credential=${s3.accessKeyId}/${scope}, SignedHeaders=${signed}, Signature=${signature}`,
    );
    return fetch(new Request(request, { headers }));
  };
}

/**
 * Creates `bucket` and PUTs every (key, file) of `objects` into it, 16 at a time, unless the `stamp` file
 * says an earlier run did; writes the stamp when all are in.
 */
export async function uploadOnce(
  s3: S3Endpoint,
  bucket: string,
  objects: { key: string; file: string }[],
  stamp: string,
): Promise<void> {
  if (fs.existsSync(stamp)) return;
  console.log(`uploading ${objects.length} objects into versitygw (bucket ${bucket})`);
  await putObject(s3, bucket, "");
  let next = 0;
  const upload = async () => {
    while (next < objects.length) {
      const { key, file } = objects[next++];
      await putObject(s3, bucket, key, fs.readFileSync(file));
    }
  };
  await Promise.all(Array.from({ length: 16 }, upload));
  fs.writeFileSync(stamp, "");
}

/** PUT one object (or, with no key, create the bucket); throws with the server's answer unless it is 2xx. */
export async function putObject(
  s3: S3Endpoint,
  bucket: string,
  key: string,
  body?: Uint8Array<ArrayBuffer>,
): Promise<void> {
  const url = `${s3.endpoint.replace(/\/$/, "")}/${bucket}${
    key ? `/${key.split("/").map(encodeURIComponent).join("/")}` : ""
  }`;
  const res = await signedFetch(s3)(new Request(url, { method: "PUT", body: body ?? new Uint8Array(0) }));
  const text = await res.text();
  // Creating a bucket that exists (ours, from an earlier run) is fine.
  if (!res.ok && !(key === "" && /BucketAlreadyOwnedByYou/.test(text))) {
    throw new Error(`PUT ${url}: ${res.status} ${text.slice(0, 300)}`);
  }
}

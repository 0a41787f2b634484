/**
 * How a reader reaches `s3://bucket/key` paths: the conventions AWS's own
 * tools follow, every one also settable in code (options beat environment).
 *
 * - Credentials: `accessKeyId`/`secretAccessKey`/`sessionToken`, else
 *   `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, else the
 *   profile (`profile`, `AWS_PROFILE`, `"default"`) in `~/.aws/credentials`
 *   (`AWS_SHARED_CREDENTIALS_FILE`) and `~/.aws/config` (`AWS_CONFIG_FILE`);
 *   none, or `anonymous: true`: unsigned requests (public buckets).
 * - Region: `region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's
 *   `region`, else `us-east-1`.
 * - Endpoint (S3-compatible stores): `endpoint`, `AWS_ENDPOINT_URL_S3`,
 *   `AWS_ENDPOINT_URL`, the profile's `endpoint_url`; else AWS.
 * - Addressing: `"virtual"` (`bucket.host/key`, AWS's default) unless an
 *   endpoint is set, then `"path"` (`endpoint/bucket/key`, what S3-compatible
 *   servers expect); `addressing` overrides.
 *
 * @module
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";

/** S3 settings of a reader ({@linkcode ReaderOptions.s3}); each beats its environment variable. */
export interface S3Options {
  /** Region (signing and the AWS endpoint). */
  region?: string;
  /** An S3-compatible endpoint, e.g. `"http://127.0.0.1:7070"`. */
  endpoint?: string;
  /** Access key; with `secretAccessKey`, requests are signed (SigV4). */
  accessKeyId?: string;
  /** Secret key. */
  secretAccessKey?: string;
  /** Temporary credentials' session token. */
  sessionToken?: string;
  /** The profile of `~/.aws/credentials` and `~/.aws/config` (default `AWS_PROFILE`, else `"default"`). */
  profile?: string;
  /** Unsigned requests whatever credentials the environment has (public buckets). */
  anonymous?: boolean;
  /** `"path"` (`endpoint/bucket/key`) or `"virtual"` (`bucket.host/key`). */
  addressing?: "path" | "virtual";
}

/** The settings a reader ends up with. */
export interface ResolvedS3 {
  /** The region requests are signed for. */
  region: string;
  /** The S3-compatible endpoint; absent: AWS. */
  endpoint?: string;
  /** Absent: unsigned requests. */
  accessKeyId?: string;
  /** The secret key of `accessKeyId`. */
  secretAccessKey?: string;
  /** Sent as `x-amz-security-token`. */
  sessionToken?: string;
  /** How a bucket and key become a URL. */
  addressing: "path" | "virtual";
}

/** The keys of {@linkcode S3Options}. */
export const S3_KEYS = [
  "region",
  "endpoint",
  "accessKeyId",
  "secretAccessKey",
  "sessionToken",
  "profile",
  "anonymous",
  "addressing",
] as const;

/** Where the resolution reads from: the process's by default, replaceable in tests. */
export interface S3Environment {
  /** An environment variable, or undefined. */
  env(name: string): string | undefined;
  /** A file's text, or undefined when it cannot be read. */
  readFile(file: string): string | undefined;
  /** The home folder (where `.aws/` is). */
  home: string;
}

function processEnvironment(): S3Environment {
  return {
    env: (name) => {
      try {
        return process.env[name] || undefined;
      } catch {
        return undefined; // Deno without --allow-env
      }
    },
    readFile: (file) => {
      try {
        return fs.readFileSync(file, "utf8");
      } catch {
        return undefined; // missing, or no permission to read it
      }
    },
    home: (() => {
      try {
        return os.homedir();
      } catch {
        return "";
      }
    })(),
  };
}

/**
 * Sections of an AWS ini file: `[default]`, `[profile x]` (config) or `[x]`
 * (credentials) → keys (lower case) → values.
 *
 * @example
 * ```ts
 * import { parseAwsIni } from "./s3_config.ts";
 * const ini = parseAwsIni("[profile dev]\nregion = eu-west-1\n# comment\n");
 * console.log(ini.get("dev")?.get("region")); // eu-west-1
 * ```
 */
export function parseAwsIni(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const head = /^\[\s*(?:profile\s+)?([^\]]+?)\s*\]$/.exec(line);
    if (head) {
      current = sections.get(head[1]) ?? new Map();
      sections.set(head[1], current);
      continue;
    }
    const eq = line.indexOf("=");
    if (current && eq > 0) current.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
  }
  return sections;
}

/**
 * Resolves the S3 settings (see the module docs for the order). `environment`
 * replaces the process's variables and files (tests, or settings from
 * elsewhere).
 *
 * @example
 * ```ts
 * import { resolveS3Config } from "./s3_config.ts";
 * const env = { env: (k: string) => ({ AWS_REGION: "eu-west-1" } as Record<string, string>)[k], readFile: () => undefined, home: "" };
 * console.log(resolveS3Config({ endpoint: "http://127.0.0.1:7070" }, env));
 * // { region: "eu-west-1", addressing: "path", endpoint: "http://127.0.0.1:7070" }
 * ```
 */
export function resolveS3Config(options: S3Options = {}, environment?: S3Environment): ResolvedS3 {
  const host = environment ?? processEnvironment();
  const env = host.env;
  const profileName = options.profile ?? env("AWS_PROFILE") ?? "default";
  const aws = path.join(host.home, ".aws");
  const ini = (file: string | undefined) => {
    const text = file ? host.readFile(file) : undefined;
    return text === undefined ? undefined : parseAwsIni(text).get(profileName);
  };
  const credentials = ini(
    env("AWS_SHARED_CREDENTIALS_FILE") ?? (host.home ? path.join(aws, "credentials") : undefined),
  );
  const config = ini(env("AWS_CONFIG_FILE") ?? (host.home ? path.join(aws, "config") : undefined));
  const fromFiles = (key: string) => credentials?.get(key) ?? config?.get(key);

  const endpoint = options.endpoint ?? env("AWS_ENDPOINT_URL_S3") ?? env("AWS_ENDPOINT_URL") ??
    config?.get("endpoint_url");
  const out: ResolvedS3 = {
    region: options.region ?? env("AWS_REGION") ?? env("AWS_DEFAULT_REGION") ?? config?.get("region") ?? "us-east-1",
    addressing: options.addressing ?? (endpoint ? "path" : "virtual"),
  };
  if (endpoint) out.endpoint = endpoint;
  if (options.anonymous) return out;
  // Credentials come as a set from one source: the options, the environment or the profile.
  if (options.accessKeyId !== undefined) {
    out.accessKeyId = options.accessKeyId;
    out.secretAccessKey = options.secretAccessKey ?? "";
    if (options.sessionToken) out.sessionToken = options.sessionToken;
  } else if (env("AWS_ACCESS_KEY_ID")) {
    out.accessKeyId = env("AWS_ACCESS_KEY_ID");
    out.secretAccessKey = env("AWS_SECRET_ACCESS_KEY") ?? "";
    const token = env("AWS_SESSION_TOKEN");
    if (token) out.sessionToken = token;
  } else if (fromFiles("aws_access_key_id")) {
    out.accessKeyId = fromFiles("aws_access_key_id");
    out.secretAccessKey = fromFiles("aws_secret_access_key") ?? "";
    const token = fromFiles("aws_session_token");
    if (token) out.sessionToken = token;
  }
  return out;
}

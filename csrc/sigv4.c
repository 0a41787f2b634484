/* sigv4.c — AWS Signature Version 4 for LSIO's S3 GETs and HEADs, and the
 * SHA-256 and HMAC-SHA256 it needs.
 *
 * Why not libcurl's CURLOPT_AWS_SIGV4: libcurl 7.88 rebuilds every string of
 * the signature with its own allocations and derives the signing key (four
 * HMACs through OpenSSL 3's EVP layer, which looks the digest up again each
 * time) for every request. LSIO's requests all have the same shape — no body,
 * no query, the same three or four signed headers — so the signing key is
 * derived once per day and region, and a request costs one SHA-256 of its
 * canonical request and one HMAC. Nothing here allocates.
 *
 * Reference: "Authenticating Requests: Using the Authorization Header (AWS
 * Signature Version 4)", Amazon S3 API Reference; FIPS 180-4 for SHA-256,
 * RFC 2104 for HMAC. */
#define _GNU_SOURCE /* gmtime_r */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

typedef struct {
	uint32_t h[8];
	uint64_t bytes;
	uint8_t block[64];
	size_t used;
} sha256_ctx;

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha256_block(sha256_ctx *c, const uint8_t *p)
{
	uint32_t w[64];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	uint32_t a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3], e = c->h[4], f = c->h[5], g = c->h[6], h = c->h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
		uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & cc) ^ (b & cc));
		h = g;
		g = f;
		f = e;
		e = d + t1;
		d = cc;
		cc = b;
		b = a;
		a = t1 + t2;
	}
	c->h[0] += a;
	c->h[1] += b;
	c->h[2] += cc;
	c->h[3] += d;
	c->h[4] += e;
	c->h[5] += f;
	c->h[6] += g;
	c->h[7] += h;
}

static void sha256_init(sha256_ctx *c)
{
	static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
				       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	memcpy(c->h, iv, sizeof iv);
	c->bytes = 0;
	c->used = 0;
}

static void sha256_update(sha256_ctx *c, const void *data, size_t n)
{
	const uint8_t *p = data;
	c->bytes += n;
	if (c->used) {
		size_t take = 64 - c->used < n ? 64 - c->used : n;
		memcpy(c->block + c->used, p, take);
		c->used += take;
		p += take;
		n -= take;
		if (c->used < 64) return;
		sha256_block(c, c->block);
		c->used = 0;
	}
	for (; n >= 64; p += 64, n -= 64) sha256_block(c, p);
	memcpy(c->block, p, n);
	c->used = n;
}

static void sha256_final(sha256_ctx *c, uint8_t out[32])
{
	uint64_t bits = c->bytes * 8;
	uint8_t pad = 0x80;
	sha256_update(c, &pad, 1);
	static const uint8_t zeros[64] = {0};
	sha256_update(c, zeros, (c->used <= 56 ? 56 : 120) - c->used);
	uint8_t len[8];
	for (int i = 0; i < 8; i++) len[i] = (uint8_t)(bits >> (56 - 8 * i));
	sha256_update(c, len, 8);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(c->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)c->h[i];
	}
}

void lsio_sha256(const void *data, size_t n, uint8_t out[32])
{
	sha256_ctx c;
	sha256_init(&c);
	sha256_update(&c, data, n);
	sha256_final(&c, out);
}

void lsio_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t n, uint8_t out[32])
{
	uint8_t k[64] = {0}, pad[64], inner[32];
	if (key_len > 64) lsio_sha256(key, key_len, k);
	else memcpy(k, key, key_len);
	sha256_ctx c;
	for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x36;
	sha256_init(&c);
	sha256_update(&c, pad, 64);
	sha256_update(&c, msg, n);
	sha256_final(&c, inner);
	for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x5c;
	sha256_init(&c);
	sha256_update(&c, pad, 64);
	sha256_update(&c, inner, 32);
	sha256_final(&c, out);
}

static void hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = 0;
}

/* The signing key of `day` (YYYYMMDD): kept in `cache` while the day and region stay the same. */
static const uint8_t *signing_key(sigv4_cache *cache, const s3_settings *s, const char *day)
{
	if (cache->valid && memcmp(cache->day, day, 8) == 0 && cache->settings == s) return cache->key;
	char secret[4 + 256]; /* sigv4_sign checked the length */
	size_t sl = strlen(s->secret_key);
	memcpy(secret, "AWS4", 4);
	memcpy(secret + 4, s->secret_key, sl);
	uint8_t k[32];
	lsio_hmac_sha256(secret, 4 + sl, day, 8, k);
	lsio_hmac_sha256(k, 32, s->region, strlen(s->region), k);
	lsio_hmac_sha256(k, 32, "s3", 2, k);
	lsio_hmac_sha256(k, 32, "aws4_request", 12, cache->key);
	memset(secret, 0, sizeof secret);
	memcpy(cache->day, day, 8);
	cache->settings = s;
	cache->valid = 1;
	return cache->key;
}

/* Appends up to the buffer's end; the caller checks `len` against the size after. */
static void put(char *buf, size_t size, size_t *len, const char *s, size_t n)
{
	if (*len + n < size) memcpy(buf + *len, s, n);
	*len += n;
}

int sigv4_sign(const s3_settings *s, sigv4_cache *cache, const char *method, const char *url, time_t now,
	       char date_header[SIGV4_DATE_HEADER], char *auth_header, size_t auth_size)
{
	if (!s->access_key || !s->secret_key || !s->region || strlen(s->secret_key) > 256) return -EINVAL;
	const char *scheme_end = strstr(url, "://");
	if (!scheme_end) return -EINVAL;
	const char *host = scheme_end + 3;
	const char *path = strchr(host, '/');
	if (!path || strchr(path, '?') || strchr(path, '#')) return -EINVAL; /* LSIO's S3 URLs have neither */
	size_t host_len = (size_t)(path - host);
	/* libcurl leaves the scheme's default port out of Host: sign the Host it sends. */
	int https = strncmp(url, "https://", 8) == 0;
	const char *dflt = https ? ":443" : ":80";
	size_t dl = strlen(dflt);
	if (host_len > dl && memcmp(host + host_len - dl, dflt, dl) == 0) host_len -= dl;

	struct tm tm;
	if (!gmtime_r(&now, &tm)) return -EINVAL;
	char stamp[17]; /* YYYYMMDDTHHMMSSZ */
	if (strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm) != 16) return -EINVAL;
	snprintf(date_header, SIGV4_DATE_HEADER, "x-amz-date: %s", stamp);

	/* The canonical request, hashed as it is written. */
	static const char payload[] = "UNSIGNED-PAYLOAD";
	const char *signed_headers = s->session_token ? "host;x-amz-content-sha256;x-amz-date;x-amz-security-token"
						      : "host;x-amz-content-sha256;x-amz-date";
	sha256_ctx c;
	sha256_init(&c);
	sha256_update(&c, method, strlen(method));
	sha256_update(&c, "\n", 1);
	sha256_update(&c, path, strlen(path)); /* s3_url wrote it already encoded as SigV4 wants */
	sha256_update(&c, "\n\nhost:", 7);     /* an empty query string */
	sha256_update(&c, host, host_len);
	sha256_update(&c, "\nx-amz-content-sha256:", 22);
	sha256_update(&c, payload, sizeof payload - 1);
	sha256_update(&c, "\nx-amz-date:", 12);
	sha256_update(&c, stamp, 16);
	if (s->session_token) {
		sha256_update(&c, "\nx-amz-security-token:", 22);
		sha256_update(&c, s->session_token, strlen(s->session_token));
	}
	sha256_update(&c, "\n\n", 2);
	sha256_update(&c, signed_headers, strlen(signed_headers));
	sha256_update(&c, "\n", 1);
	sha256_update(&c, payload, sizeof payload - 1);
	uint8_t digest[32];
	sha256_final(&c, digest);
	char digest_hex[65];
	hex(digest, 32, digest_hex);

	/* The scope and the string to sign. */
	char scope[128];
	int sn = snprintf(scope, sizeof scope, "%.8s/%s/s3/aws4_request", stamp, s->region);
	if (sn < 0 || (size_t)sn >= sizeof scope) return -EINVAL;
	char sts[256];
	int tn = snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", stamp, scope, digest_hex);
	if (tn < 0 || (size_t)tn >= sizeof sts) return -EINVAL;
	uint8_t sig[32];
	lsio_hmac_sha256(signing_key(cache, s, stamp), 32, sts, (size_t)tn, sig);
	char sig_hex[65];
	hex(sig, 32, sig_hex);

	size_t len = 0;
	put(auth_header, auth_size, &len, "Authorization: AWS4-HMAC-SHA256 Credential=", 43);
	put(auth_header, auth_size, &len, s->access_key, strlen(s->access_key));
	put(auth_header, auth_size, &len, "/", 1);
	put(auth_header, auth_size, &len, scope, (size_t)sn);
	put(auth_header, auth_size, &len, ", SignedHeaders=", 16);
	put(auth_header, auth_size, &len, signed_headers, strlen(signed_headers));
	put(auth_header, auth_size, &len, ", Signature=", 12);
	put(auth_header, auth_size, &len, sig_hex, 64);
	if (len >= auth_size) return -ENAMETOOLONG;
	auth_header[len] = 0;
	return 0;
}

/* s3.c — s3://bucket/key paths: a reader's S3 settings (lsio_reader_set_s3)
 * and the HTTPS URL each path becomes. Signing is sigv4.c's. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_or_null(const char *s)
{
	if (!s || !*s) return NULL;
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d) memcpy(d, s, n);
	return d;
}

/* A malloc'ed printf. */
static char *format(const char *fmt, const char *a, const char *b)
{
	int n = snprintf(NULL, 0, fmt, a, b);
	char *d = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (d) snprintf(d, (size_t)n + 1, fmt, a, b);
	return d;
}

void s3_settings_free(s3_settings *s)
{
	free(s->endpoint);
	free(s->region);
	free(s->access_key);
	if (s->secret_key) memset(s->secret_key, 0, strlen(s->secret_key));
	free(s->secret_key);
	free(s->session_token);
	free(s->token_header);
	*s = (s3_settings){0};
}

int s3_settings_set(s3_settings *s, const lsio_s3_config *cfg)
{
	s3_settings n = {0};
	const char *region = cfg && cfg->region && *cfg->region ? cfg->region : "us-east-1";
	n.region = dup_or_null(region);
	n.flags = cfg ? cfg->flags : 0;
	if (cfg && cfg->endpoint && *cfg->endpoint) {
		n.endpoint = dup_or_null(cfg->endpoint);
		if (n.endpoint) {
			size_t l = strlen(n.endpoint);
			while (l > 0 && n.endpoint[l - 1] == '/') n.endpoint[--l] = 0;
		}
	}
	int ok = n.region && (!(cfg && cfg->endpoint && *cfg->endpoint) || n.endpoint);
	if (ok && cfg && cfg->access_key_id && *cfg->access_key_id) {
		n.access_key = dup_or_null(cfg->access_key_id);
		n.secret_key = format("%s%s", cfg->secret_access_key ? cfg->secret_access_key : "", "");
		ok = n.access_key && n.secret_key;
		if (ok && cfg->session_token && *cfg->session_token) {
			n.session_token = dup_or_null(cfg->session_token);
			n.token_header = format("x-amz-security-token: %s%s", cfg->session_token, "");
			ok = n.session_token && n.token_header;
		}
	}
	if (!ok) {
		s3_settings_free(&n);
		return -ENOMEM;
	}
	s3_settings_free(s);
	*s = n;
	return 0;
}

/* Appends `n` bytes to the growable buffer. */
static int put(char **buf, size_t *cap, size_t *len, const char *src, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t c = *cap ? *cap : 256;
		while (*len + n + 1 > c) c *= 2;
		char *g = realloc(*buf, c);
		if (!g) return -ENOMEM;
		*buf = g;
		*cap = c;
	}
	memcpy(*buf + *len, src, n);
	*len += n;
	(*buf)[*len] = 0;
	return 0;
}

/* The key percent-encoded as SigV4 wants it: every byte but A-Z a-z 0-9 - . _ ~ and '/'. */
static int put_key(char **buf, size_t *cap, size_t *len, const char *key)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *k = (const unsigned char *)key; *k; k++) {
		int plain = (*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '-' ||
			    *k == '.' || *k == '_' || *k == '~' || *k == '/';
		char esc[3] = {'%', hex[*k >> 4], hex[*k & 15]};
		int rc = plain ? put(buf, cap, len, (const char *)k, 1) : put(buf, cap, len, esc, 3);
		if (rc < 0) return rc;
	}
	return 0;
}

int s3_url(const s3_settings *s, const char *path, char **buf, size_t *cap)
{
	const char *bucket = path + 5; /* after "s3://" */
	const char *slash = strchr(bucket, '/');
	size_t blen = slash ? (size_t)(slash - bucket) : strlen(bucket);
	const char *key = slash ? slash + 1 : "";
	if (blen == 0) return -EINVAL;
	size_t len = 0;
	int rc;
	const char *region = s->region ? s->region : "us-east-1";
	if (s->endpoint && (s->flags & LSIO_S3_PATH_STYLE)) { /* ENDPOINT/bucket/key */
		rc = put(buf, cap, &len, s->endpoint, strlen(s->endpoint));
		if (!rc) rc = put(buf, cap, &len, "/", 1);
		if (!rc) rc = put(buf, cap, &len, bucket, blen);
	} else if (s->endpoint) { /* scheme://bucket.host/key */
		const char *host = strstr(s->endpoint, "://");
		host = host ? host + 3 : s->endpoint;
		rc = put(buf, cap, &len, s->endpoint, (size_t)(host - s->endpoint));
		if (!rc) rc = put(buf, cap, &len, bucket, blen);
		if (!rc) rc = put(buf, cap, &len, ".", 1);
		if (!rc) rc = put(buf, cap, &len, host, strlen(host));
	} else if (s->flags & LSIO_S3_PATH_STYLE) { /* AWS, path style */
		rc = put(buf, cap, &len, "https://s3.", 11);
		if (!rc) rc = put(buf, cap, &len, region, strlen(region));
		if (!rc) rc = put(buf, cap, &len, ".amazonaws.com/", 15);
		if (!rc) rc = put(buf, cap, &len, bucket, blen);
	} else { /* AWS, virtual-hosted */
		rc = put(buf, cap, &len, "https://", 8);
		if (!rc) rc = put(buf, cap, &len, bucket, blen);
		if (!rc) rc = put(buf, cap, &len, ".s3.", 4);
		if (!rc) rc = put(buf, cap, &len, region, strlen(region));
		if (!rc) rc = put(buf, cap, &len, ".amazonaws.com", 14);
	}
	if (!rc) rc = put(buf, cap, &len, "/", 1);
	if (!rc) rc = put_key(buf, cap, &len, key);
	return rc;
}

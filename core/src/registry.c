/*
 * Schema Registry client. Each call is one blocking HTTP request with
 * connect and total timeouts, so a dead registry fails a call instead of
 * hanging the program; callers cache results so this stays off the hot
 * path.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "kx/buf.h"
#include "kx/err.h"
#include "kx/registry.h"

#define CONTENT_TYPE "application/vnd.schemaregistry.v1+json"

struct kx_registry {
	CURL *curl;
	char *url; /* without a trailing slash */
};

struct kx_registry *
kx_registry_new(const char *url, char *errbuf, size_t errlen)
{
	struct kx_registry *reg = NULL;
	size_t len;

	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
		snprintf(errbuf, errlen,
			 "schema registry '%s': expected an http:// or "
			 "https:// url",
			 url);
		return NULL;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!(reg = calloc(1, sizeof(*reg))) || !(reg->url = strdup(url)) ||
	    !(reg->curl = curl_easy_init())) {
		snprintf(errbuf, errlen, "schema registry: out of memory");
		kx_registry_free(reg);
		return NULL;
	}
	len = strlen(reg->url);
	while (len && reg->url[len - 1] == '/')
		reg->url[--len] = '\0';
	return reg;
}

void
kx_registry_free(struct kx_registry *reg)
{
	if (!reg)
		return;
	if (reg->curl)
		curl_easy_cleanup(reg->curl);
	free(reg->url);
	free(reg);
}

static size_t
on_body(char *data, size_t size, size_t n, void *opaque)
{
	/* Registry answers are small; cap them so a rogue server cannot
	 * make us buffer without end. */
	struct kx_buf *body = opaque;

	if (body->len + size * n > 4 * 1024 * 1024 ||
	    kx_buf_add(body, data, size * n))
		return 0;
	return size * n;
}

/*
 * Performs one request; on HTTP 2xx parses the JSON body into *out.
 * Otherwise returns KX_EHTTP with the registry's own message when it sent
 * one ({"error_code": ..., "message": ...}).
 */
static int
request(struct kx_registry *reg, const char *path, const char *post,
	json_t **out, long *status, char *errbuf, size_t errlen)
{
	struct kx_buf url = KX_BUF_INIT, body = KX_BUF_INIT;
	struct curl_slist *hdrs = NULL;
	json_error_t jerr;
	json_t *doc = NULL;
	CURLcode cc;
	int rc = KX_EHTTP;

	*status = 0;
	if (kx_buf_addf(&url, "%s%s", reg->url, path)) {
		rc = KX_ENOMEM;
		goto out;
	}
	curl_easy_reset(reg->curl);
	hdrs = curl_slist_append(hdrs, "Content-Type: " CONTENT_TYPE);
	hdrs = curl_slist_append(hdrs, "Accept: " CONTENT_TYPE
				       ", application/json");
	curl_easy_setopt(reg->curl, CURLOPT_URL, url.data);
	curl_easy_setopt(reg->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(reg->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(reg->curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(reg->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(reg->curl, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(reg->curl, CURLOPT_NOSIGNAL, 1L);
	if (post)
		curl_easy_setopt(reg->curl, CURLOPT_POSTFIELDS, post);
	cc = curl_easy_perform(reg->curl);
	if (cc != CURLE_OK) {
		snprintf(errbuf, errlen, "schema registry '%s': %s", url.data,
			 curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(reg->curl, CURLINFO_RESPONSE_CODE, status);
	doc = json_loadb(body.data ? body.data : "", body.len, 0, &jerr);
	if (*status < 200 || *status > 299) {
		json_t *msg = json_object_get(doc, "message");
		snprintf(errbuf, errlen, "schema registry '%s': HTTP %ld%s%s",
			 url.data, *status, json_is_string(msg) ? ": " : "",
			 json_is_string(msg) ? json_string_value(msg) : "");
		goto out;
	}
	if (!doc) {
		snprintf(errbuf, errlen,
			 "schema registry '%s': invalid JSON answer: %s",
			 url.data, jerr.text);
		goto out;
	}
	*out = doc;
	doc = NULL;
	rc = 0;
out:
	json_decref(doc);
	curl_slist_free_all(hdrs);
	kx_buf_release(&url);
	kx_buf_release(&body);
	return rc;
}

int
kx_registry_register(struct kx_registry *reg, const char *subject,
		     const char *avsc, int32_t *id, char *errbuf,
		     size_t errlen)
{
	json_t *req = json_pack("{s:s}", "schema", avsc), *res = NULL, *jid;
	char *post = NULL, *path = NULL;
	char *esc = curl_easy_escape(reg->curl, subject, 0);
	long status;
	int rc = KX_ENOMEM;

	if (!req || !esc || !(post = json_dumps(req, JSON_COMPACT)))
		goto out;
	if (!(path = malloc(strlen(esc) + 32)))
		goto out;
	sprintf(path, "/subjects/%s/versions", esc);
	if ((rc = request(reg, path, post, &res, &status, errbuf, errlen)))
		goto out;
	jid = json_object_get(res, "id");
	if (!json_is_integer(jid) || json_integer_value(jid) < 0 ||
	    json_integer_value(jid) > INT32_MAX) {
		snprintf(errbuf, errlen,
			 "schema registry: answer for '%s' has no valid 'id'",
			 subject);
		rc = KX_EHTTP;
		goto out;
	}
	*id = (int32_t)json_integer_value(jid);
out:
	if (rc == KX_ENOMEM)
		snprintf(errbuf, errlen, "schema registry: out of memory");
	curl_free(esc);
	free(path);
	free(post);
	json_decref(req);
	json_decref(res);
	return rc;
}

int
kx_registry_fetch(void *opaque, int32_t id, char **avsc, char *errbuf,
		  size_t errlen)
{
	struct kx_registry *reg = opaque;
	json_t *res = NULL, *schema;
	char path[64];
	long status;
	int rc;

	snprintf(path, sizeof(path), "/schemas/ids/%d", (int)id);
	rc = request(reg, path, NULL, &res, &status, errbuf, errlen);
	if (rc) {
		if (status == 404)
			rc = KX_ESCHEMA_ID;
		return rc;
	}
	schema = json_object_get(res, "schema");
	if (!json_is_string(schema)) {
		snprintf(errbuf, errlen,
			 "schema registry: answer for id %d has no 'schema'",
			 (int)id);
		rc = KX_EHTTP;
	} else if (!(*avsc = strdup(json_string_value(schema)))) {
		rc = KX_ENOMEM;
	}
	json_decref(res);
	return rc;
}

/*
 * Health and metrics endpoints over libmicrohttpd, which runs its own
 * polling thread. Responses are built from atomics only.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kx/buf.h"
#include "kx/net.h"
#include "metrics.h"

const double metrics_buckets[8] = {0.01, 0.025, 0.05, 0.1,
				   0.25, 0.5,   1.0,  2.5};

const char *const step_names[STEP__COUNT] = {
	[STEP_POLL] = "poll",       [STEP_DECODE] = "decode",
	[STEP_PARTIES] = "parties", [STEP_HISTORY] = "history",
	[STEP_LOAD] = "load",       [STEP_FOLD] = "fold",
	[STEP_WRITE] = "write",     [STEP_WAIT] = "commit_wait",
};

void
metrics_observe_batch(struct metrics *m, long us)
{
	atomic_fetch_add(&m->batches, 1);
	atomic_fetch_add(&m->batch_us_sum, us);
	for (int i = 0; i < 8; i++)
		if ((double)us / 1e6 <= metrics_buckets[i])
			atomic_fetch_add(&m->batch_le[i], 1);
}

static void
render(struct kx_buf *b, struct metrics *m)
{
	long batches = atomic_load(&m->batches);

	kx_buf_addf(b,
		    "# HELP kx_events_total Events read from Kafka, by "
		    "outcome.\n# TYPE kx_events_total counter\n"
		    "kx_events_total{result=\"new\"} %ld\n"
		    "kx_events_total{result=\"duplicate\"} %ld\n"
		    "kx_events_total{result=\"rejected\"} %ld\n",
		    atomic_load(&m->events_new),
		    atomic_load(&m->events_duplicate),
		    atomic_load(&m->rejected));
	kx_buf_addf(b,
		    "# HELP kx_rejects_total Messages written to "
		    "kx.rejected_events.\n# TYPE kx_rejects_total counter\n"
		    "kx_rejects_total %ld\n",
		    atomic_load(&m->rejected));
	kx_buf_addf(b,
		    "# HELP kx_batches_total Transactions committed (one "
		    "batch each, or several while behind).\n"
		    "# TYPE kx_batches_total counter\nkx_batches_total %ld\n",
		    batches);
	kx_buf_addf(b,
		    "# HELP kx_fenced_total Transactions rolled back by the "
		    "offset guard.\n# TYPE kx_fenced_total counter\n"
		    "kx_fenced_total %ld\n",
		    atomic_load(&m->fenced));
	kx_buf_addf(b,
		    "# HELP kx_db_errors_total Failed database attempts.\n"
		    "# TYPE kx_db_errors_total counter\n"
		    "kx_db_errors_total %ld\n",
		    atomic_load(&m->db_errors));
	kx_buf_addf(b,
		    "# HELP kx_consumer_lag Messages behind the high "
		    "watermark on the assigned partitions.\n"
		    "# TYPE kx_consumer_lag gauge\nkx_consumer_lag %ld\n",
		    atomic_load(&m->lag));
	kx_buf_adds(b, "# HELP kx_batch_seconds Time from a transaction's "
		       "first batch to its commit.\n"
		       "# TYPE kx_batch_seconds histogram\n");
	for (int i = 0; i < 8; i++)
		kx_buf_addf(b, "kx_batch_seconds_bucket{le=\"%g\"} %ld\n",
			    metrics_buckets[i], atomic_load(&m->batch_le[i]));
	kx_buf_addf(b,
		    "kx_batch_seconds_bucket{le=\"+Inf\"} %ld\n"
		    "kx_batch_seconds_sum %.6f\nkx_batch_seconds_count %ld\n",
		    batches, (double)atomic_load(&m->batch_us_sum) / 1e6,
		    batches);
	kx_buf_adds(b, "# HELP kx_consumer_seconds_total Time the consumer's "
		       "main loop spent in each step of its batches.\n"
		       "# TYPE kx_consumer_seconds_total counter\n");
	for (int i = 0; i < STEP__COUNT; i++)
		kx_buf_addf(b, "kx_consumer_seconds_total{step=\"%s\"} %.6f\n",
			    step_names[i],
			    (double)atomic_load(&m->step_us[i]) / 1e6);
	kx_buf_addf(b,
		    "# HELP kx_up Whether Kafka and PostgreSQL are reachable.\n"
		    "# TYPE kx_up gauge\nkx_up{dependency=\"kafka\"} %d\n"
		    "kx_up{dependency=\"postgresql\"} %d\n",
		    atomic_load(&m->kafka_ok), atomic_load(&m->db_ok));
}

static enum MHD_Result
answer(void *cls, struct MHD_Connection *conn, const char *url,
       const char *method, const char *version, const char *upload,
       size_t *upload_len, void **state)
{
	struct metrics *m = cls;
	struct kx_buf body = KX_BUF_INIT;
	struct MHD_Response *res;
	const char *type = "text/plain; charset=utf-8";
	unsigned status = MHD_HTTP_OK;
	enum MHD_Result ret;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)state;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
		kx_buf_adds(&body, "method not allowed\n");
	} else if (!strcmp(url, "/healthz")) {
		kx_buf_adds(&body, "ok\n");
	} else if (!strcmp(url, "/readyz")) {
		int k = atomic_load(&m->kafka_ok), d = atomic_load(&m->db_ok);
		if (!k || !d)
			status = MHD_HTTP_SERVICE_UNAVAILABLE;
		kx_buf_addf(&body, "kafka %s\npostgresql %s\n",
			    k ? "ok" : "unreachable", d ? "ok" : "unreachable");
	} else if (!strcmp(url, "/metrics")) {
		type = "text/plain; version=0.0.4; charset=utf-8";
		render(&body, m);
	} else {
		status = MHD_HTTP_NOT_FOUND;
		kx_buf_adds(&body, "not found: try /healthz, /readyz or "
				   "/metrics\n");
	}
	res = MHD_create_response_from_buffer(body.len, body.data,
					      MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(res, "Content-Type", type);
	ret = MHD_queue_response(conn, status, res);
	MHD_destroy_response(res);
	kx_buf_release(&body);
	return ret;
}

/* "ADDR:PORT", ADDR empty for every IPv4 address. */
static int
parse_addr(const char *addr, struct sockaddr_in *sin, char *errbuf,
	   size_t errlen)
{
	return kx_net_parse_listen(addr, "http", "127.0.0.1:9464", sin, errbuf,
				   errlen);
}

int
http_check_addr(const char *addr, char *errbuf, size_t errlen)
{
	struct sockaddr_in sin;

	return parse_addr(addr, &sin, errbuf, errlen);
}

void *
http_start(const char *addr, struct metrics *m, char *errbuf, size_t errlen)
{
	struct sockaddr_in sin;
	struct MHD_Daemon *d;

	if (parse_addr(addr, &sin, errbuf, errlen))
		return NULL;
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
				     MHD_USE_ERROR_LOG,
			     ntohs(sin.sin_port), NULL, NULL, answer, m,
			     MHD_OPTION_SOCK_ADDR, &sin,
			     MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!d)
		snprintf(errbuf, errlen, "cannot listen on '%s'", addr);
	return d;
}

void
http_stop(void *handle)
{
	if (handle)
		MHD_stop_daemon(handle);
}

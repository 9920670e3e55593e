/*
 * kx-report --serve ADDR:PORT: the HTML dashboard served live with
 * libmicrohttpd. Each GET / connects, renders the page from a fresh
 * snapshot and disconnects, so the server holds no database connection
 * between requests and a restarted PostgreSQL needs no restart here.
 * Signal handlers only set a flag; the main thread waits for it.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kx/net.h"
#include "kxdb.h"
#include "report_int.h"

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned status, const char *type,
      const char *body, size_t len)
{
	struct MHD_Response *res;
	enum MHD_Result ret;

	res = MHD_create_response_from_buffer(len, (void *)body,
					      MHD_RESPMEM_MUST_COPY);
	if (!res)
		return MHD_NO;
	MHD_add_response_header(res, "Content-Type", type);
	MHD_add_response_header(res, "Cache-Control", "no-store");
	ret = MHD_queue_response(conn, status, res);
	MHD_destroy_response(res);
	return ret;
}

static enum MHD_Result
answer(void *cls, struct MHD_Connection *conn, const char *url,
       const char *method, const char *version, const char *upload,
       size_t *upload_len, void **state)
{
	const char *conninfo = cls;
	char errbuf[512], *page = NULL;
	size_t len = 0;
	PGconn *db = NULL;
	FILE *mem = NULL;
	enum MHD_Result ret;
	int rc = -1;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)state;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
			     "text/plain; charset=utf-8",
			     "method not allowed\n", 19);
	if (!strcmp(url, "/healthz"))
		return reply(conn, MHD_HTTP_OK, "text/plain; charset=utf-8",
			     "ok\n", 3);
	if (strcmp(url, "/") && strcmp(url, "/index.html"))
		return reply(conn, MHD_HTTP_NOT_FOUND,
			     "text/plain; charset=utf-8",
			     "not found: the dashboard is at /\n", 33);
	if (!(db = kxdb_connect(conninfo, errbuf, sizeof(errbuf))))
		goto out;
	if (!(mem = open_memstream(&page, &len))) {
		snprintf(errbuf, sizeof(errbuf), "out of memory");
		goto out;
	}
	rc = kx__html_render(db, mem, errbuf, sizeof(errbuf));
	fclose(mem);
out:
	if (db)
		PQfinish(db);
	if (rc) {
		fprintf(stderr, "kx-report: %s\n", errbuf);
		ret = reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
			    "text/plain; charset=utf-8",
			    "the database cannot be read; see the server's "
			    "log\n",
			    50);
	} else {
		ret = reply(conn, MHD_HTTP_OK, "text/html; charset=utf-8", page,
			    len);
	}
	free(page);
	return ret;
}

int
kx__serve(const char *addr, const char *conninfo, char *errbuf, size_t errlen)
{
	struct sockaddr_in sin;
	struct sigaction sa;
	struct MHD_Daemon *d;

	if (kx_net_parse_listen(addr, "serve", "127.0.0.1:8080", &sin, errbuf,
				 errlen))
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
		ntohs(sin.sin_port), NULL, NULL, answer,
		(void *)(conninfo ? conninfo : ""), MHD_OPTION_SOCK_ADDR, &sin,
		MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!d) {
		snprintf(errbuf, errlen, "cannot listen on '%s'", addr);
		return -1;
	}
	fprintf(stderr, "kx-report: serving the dashboard at http://%s/\n",
		addr);
	while (!stop) {
		struct timespec ts = {0, 200 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(d);
	return 0;
}

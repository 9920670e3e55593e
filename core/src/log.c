/*
 * Logger. Each line is formatted into one buffer and written with a single
 * fputs on unbuffered stderr, so lines from several threads do not
 * interleave mid-line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kx/err.h"
#include "kx/log.h"

static enum kx_log_level threshold = KX_LOG_INFO;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

void
kx_log_set_level(enum kx_log_level level)
{
	threshold = level;
}

int
kx_log_level_parse(const char *s, enum kx_log_level *level)
{
	for (int i = 0; i <= KX_LOG_DEBUG; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*level = (enum kx_log_level)i;
			return 0;
		}
	}
	return KX_EINVAL;
}

void
kx_log(enum kx_log_level level, const char *component, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n;

	if (level > threshold)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
		     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
		     level_names[level], component);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	line[n] = '\n';
	line[n + 1] = '\0';
	fputs(line, stderr);
}

/*
 * Logging to stderr as "ts level component: message", one line per call,
 * for systemd/journald to collect. The level threshold comes from
 * kx_log_set_level() (programs map --log-level / KX_LOG_LEVEL to it).
 */
#ifndef KX_LOG_H
#define KX_LOG_H

enum kx_log_level {
	KX_LOG_ERROR,
	KX_LOG_WARN,
	KX_LOG_INFO,
	KX_LOG_DEBUG
};

void kx_log_set_level(enum kx_log_level level);

/* Parses "error", "warn", "info" or "debug"; 0 or KX_EINVAL. */
int kx_log_level_parse(const char *s, enum kx_log_level *level);

void kx_log(enum kx_log_level level, const char *component, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));

#define kx_log_error(comp, ...) kx_log(KX_LOG_ERROR, comp, __VA_ARGS__)
#define kx_log_warn(comp, ...) kx_log(KX_LOG_WARN, comp, __VA_ARGS__)
#define kx_log_info(comp, ...) kx_log(KX_LOG_INFO, comp, __VA_ARGS__)
#define kx_log_debug(comp, ...) kx_log(KX_LOG_DEBUG, comp, __VA_ARGS__)

#endif

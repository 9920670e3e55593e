/*
 * Helpers private to the core for writing error reasons.
 */
#ifndef KX_ERR_INT_H
#define KX_ERR_INT_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Formats a reason into errbuf; does nothing when errbuf is NULL or
 * errlen is 0, so callers may pass through a caller's optional buffer.
 */
void kx__errf(char *errbuf, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void kx__verrf(char *errbuf, size_t errlen, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif

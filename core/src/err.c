/*
 * Error names and messages, generated from KX_ERR_MAP so the three never
 * drift apart.
 */
#include <stdarg.h>
#include <stdio.h>

#include "err_int.h"
#include "kx/err.h"

const char *
kx_strerror(int err)
{
	switch (err) {
	case KX_OK:
		return "success";
#define KX_ERR_MSG(name, msg)                                                \
	case KX_E##name:                                                     \
		return msg;
		KX_ERR_MAP(KX_ERR_MSG)
#undef KX_ERR_MSG
	default:
		return "unknown error";
	}
}

const char *
kx_err_name(int err)
{
	switch (err) {
	case KX_OK:
		return "KX_OK";
#define KX_ERR_NAME(name, msg)                                               \
	case KX_E##name:                                                     \
		return "KX_E" #name;
		KX_ERR_MAP(KX_ERR_NAME)
#undef KX_ERR_NAME
	default:
		return "KX_E?";
	}
}

void
kx__verrf(char *errbuf, size_t errlen, const char *fmt, va_list ap)
{
	if (errbuf && errlen)
		vsnprintf(errbuf, errlen, fmt, ap);
}

void
kx__errf(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kx__verrf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Error codes shared by every KX module.
 *
 * A function that can fail returns int: 0, or a negative KX_E* code. The
 * list below is the single source of the enum, kx_strerror() and
 * kx_err_name(), in the manner of libuv's UV_ERRNO_MAP. Detail for the user
 * travels separately, in an errbuf the caller provides.
 */
#ifndef KX_ERR_H
#define KX_ERR_H

#define KX_ERR_MAP(XX)                                                       \
	XX(INVAL, "invalid argument")                                        \
	XX(NOMEM, "out of memory")                                           \
	XX(IO, "input/output error")                                         \
	XX(PARSE, "malformed input")                                         \
	XX(INVALID_EVENT, "event breaks a contract rule")                     \
	XX(TOOLONG, "input too long")                                        \
	XX(UTF8, "invalid UTF-8")                                            \
	XX(MAGIC, "not Confluent wire format")                               \
	XX(SCHEMA_ID, "unknown schema id")                                   \
	XX(SCHEMA, "schema error")                                           \
	XX(AVRO, "Avro encoding error")                                      \
	XX(TRUNCATED, "truncated payload")                                   \
	XX(RANGE, "value out of range")                                      \
	XX(CONFIG, "configuration error")                                    \
	XX(KAFKA, "Kafka error")                                             \
	XX(DB, "database error")                                             \
	XX(HTTP, "HTTP error")                                               \
	XX(FENCED, "partition owned by another instance")                    \
	XX(INTR, "interrupted")                                              \
	XX(EOF, "end of input")

enum kx_err {
	KX_OK = 0,
#define KX_ERR_ENUM(name, msg) KX_E##name,
	KX__EFIRST = -1000,
	KX_ERR_MAP(KX_ERR_ENUM)
#undef KX_ERR_ENUM
	KX__ELAST
};

/* Returns a static description of err, or "unknown error". */
const char *kx_strerror(int err);

/* Returns the static name of err, e.g. "KX_EINVAL". */
const char *kx_err_name(int err);

#endif

/*
 * Declarative program configuration, after Fluent Bit's config_map and
 * Redis's standardConfig: each program describes its settings once, in a
 * table, and that table drives the command line, the KX_* environment, the
 * config file, --help and the example config in deploy/.
 *
 * Precedence, lowest first: the table's default, the config file
 * (--config FILE), the environment, the command line. An unknown flag or
 * config-file key is an error. Every string value is a private copy, freed
 * by kx_conf_release().
 */
#ifndef KX_CONF_H
#define KX_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum kx_conf_type {
	KX_CONF_STR,  /* char *; NULL when unset */
	KX_CONF_INT,  /* long */
	KX_CONF_BOOL, /* bool; a flag without a value on the command line */
	KX_CONF_LIST  /* struct kx_strv; each occurrence appends */
};

struct kx_strv {
	char **v;
	size_t n;
};

struct kx_conf_entry {
	const char *name;    /* long flag and config-file key: "brokers" */
	char short_opt;      /* e.g. 'X', or 0 */
	enum kx_conf_type type;
	const char *def;     /* default as text, or NULL */
	const char *env;     /* e.g. "KX_BROKERS", or NULL */
	size_t offset;       /* offsetof() the value in the program's struct */
	const char *metavar; /* for --help, e.g. "HOST:PORT" */
	const char *desc;    /* one line for --help */
	long min, max;       /* bounds for KX_CONF_INT */
};

/* Ends a table. */
#define KX_CONF_END {NULL, 0, KX_CONF_STR, NULL, NULL, 0, NULL, NULL, 0, 0}

/* What kx_conf_parse() found besides settings. */
enum kx_conf_result {
	KX_CONF_RUN = 0,
	KX_CONF_HELP = 1,   /* --help or -h was given */
	KX_CONF_VERSION = 2 /* --version was given */
};

/*
 * Fills conf (a struct described by table) from defaults, the config file
 * named by --config or KX_CONFIG, the environment and argv. Arguments that
 * are not options are appended to args (in order). Returns a kx_conf_result
 * or a negative KX_ECONFIG with a one-line reason in errbuf.
 */
int kx_conf_parse(const struct kx_conf_entry *table, void *conf, int argc,
		  char **argv, struct kx_strv *args, char *errbuf,
		  size_t errlen);

/*
 * The usual start of a program's main(): kx_conf_parse(), then --help
 * (usage(stdout)), --version ("<prog> <version>") or a config error
 * ("<prog>: reason" on stderr). Returns true when the program should go
 * on, leaving *status as it was; otherwise sets *status to the exit status
 * (0, or 2 for an error).
 */
bool kx_conf_start(const struct kx_conf_entry *table, void *conf, int argc,
		   char **argv, struct kx_strv *args, const char *prog,
		   const char *version, void (*usage)(FILE *), int *status);

/* Frees every string and list that kx_conf_parse() stored in conf. */
void kx_conf_release(const struct kx_conf_entry *table, void *conf);

/* Prints the option list of table for --help. */
void kx_conf_usage(FILE *fp, const struct kx_conf_entry *table);

/* Prints an example config file with every key, its default and doc. */
void kx_conf_example(FILE *fp, const struct kx_conf_entry *table);

void kx_strv_release(struct kx_strv *sv);
int kx_strv_push(struct kx_strv *sv, const char *s);

#endif

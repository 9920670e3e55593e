/*
 * Config table interpreter. Values are applied in precedence order into the
 * program's struct; a later source simply overwrites an earlier one (lists
 * are replaced by the first source that has them, then appended to within
 * that source), so the struct always holds the winning value.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kx/conf.h"
#include "kx/err.h"

enum source { SRC_DEFAULT, SRC_FILE, SRC_ENV, SRC_ARGV };

struct state {
	const struct kx_conf_entry *table;
	void *conf;
	unsigned char *list_src; /* per entry: the source that owns the list */
	char *errbuf;
	size_t errlen;
};

void
kx_strv_release(struct kx_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

int
kx_strv_push(struct kx_strv *sv, const char *s)
{
	char **v = realloc(sv->v, (sv->n + 1) * sizeof(*v));

	if (!v)
		return KX_ENOMEM;
	sv->v = v;
	if (!(v[sv->n] = strdup(s)))
		return KX_ENOMEM;
	sv->n++;
	return 0;
}

static void *
slot(const struct state *st, const struct kx_conf_entry *e)
{
	return (char *)st->conf + e->offset;
}

static int
fail(const struct state *st, const char *fmt, const char *a, const char *b)
{
	snprintf(st->errbuf, st->errlen, fmt, a, b);
	return KX_ECONFIG;
}

static int
parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes") ||
	    !strcmp(v, "on"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no") ||
		 !strcmp(v, "off"))
		*out = false;
	else
		return KX_EINVAL;
	return 0;
}

static int
set_value(struct state *st, const struct kx_conf_entry *e, const char *v,
	  enum source src)
{
	size_t idx = (size_t)(e - st->table);
	char *end;
	long n;

	switch (e->type) {
	case KX_CONF_STR: {
		char **p = slot(st, e), *copy = strdup(v);
		if (!copy)
			return KX_ENOMEM;
		free(*p);
		*p = copy;
		return 0;
	}
	case KX_CONF_INT:
		errno = 0;
		n = strtol(v, &end, 10);
		if (errno || end == v || *end || n < e->min || n > e->max) {
			char range[64];
			snprintf(range, sizeof(range), "%ld-%ld", e->min,
				 e->max);
			snprintf(st->errbuf, st->errlen,
				 "'%s': '%s' is not an integer in %s", e->name,
				 v, range);
			return KX_ECONFIG;
		}
		*(long *)slot(st, e) = n;
		return 0;
	case KX_CONF_BOOL:
		if (parse_bool(v, slot(st, e)))
			return fail(st, "'%s': '%s' is not true or false",
				    e->name, v);
		return 0;
	case KX_CONF_LIST: {
		struct kx_strv *sv = slot(st, e);
		if (st->list_src[idx] != src) {
			kx_strv_release(sv);
			st->list_src[idx] = (unsigned char)src;
		}
		return kx_strv_push(sv, v);
	}
	}
	return KX_EINVAL;
}

static const struct kx_conf_entry *
find_long(const struct kx_conf_entry *t, const char *name, size_t len)
{
	for (; t->name; t++)
		if (strlen(t->name) == len && !strncmp(t->name, name, len))
			return t;
	return NULL;
}

static const struct kx_conf_entry *
find_short(const struct kx_conf_entry *t, char c)
{
	for (; t->name; t++)
		if (t->short_opt && t->short_opt == c)
			return t;
	return NULL;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Reads "key = value" lines; '#' starts a comment line. */
static int
load_file(struct state *st, const char *path)
{
	char *line = NULL, *key, *val, *eq;
	size_t cap = 0;
	long lineno = 0;
	int rc = 0;
	FILE *fp = fopen(path, "r");

	if (!fp) {
		snprintf(st->errbuf, st->errlen, "cannot open config '%s': %s",
			 path, strerror(errno));
		return KX_ECONFIG;
	}
	while (getline(&line, &cap, fp) != -1) {
		const struct kx_conf_entry *e;
		lineno++;
		key = trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		if (!(eq = strchr(key, '='))) {
			snprintf(st->errbuf, st->errlen,
				 "config '%s' line %ld: expected key = value",
				 path, lineno);
			rc = KX_ECONFIG;
			goto out;
		}
		*eq = '\0';
		val = trim(eq + 1);
		key = trim(key);
		e = find_long(st->table, key, strlen(key));
		if (!e || !strcmp(key, "config")) {
			snprintf(st->errbuf, st->errlen,
				 "config '%s' line %ld: '%s': unknown key",
				 path, lineno, key);
			rc = KX_ECONFIG;
			goto out;
		}
		if ((rc = set_value(st, e, val, SRC_FILE)))
			goto out;
	}
	if (ferror(fp)) {
		snprintf(st->errbuf, st->errlen, "cannot read config '%s': %s",
			 path, strerror(errno));
		rc = KX_ECONFIG;
	}
out:
	free(line);
	fclose(fp);
	return rc;
}

/*
 * First pass over argv: finds --config, --help and --version, which decide
 * what the other passes do.
 */
static int
prescan(int argc, char **argv, const char **config)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return KX_CONF_HELP;
		if (!strcmp(argv[i], "--version"))
			return KX_CONF_VERSION;
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			*config = argv[++i];
		else if (!strncmp(argv[i], "--config=", 9))
			*config = argv[i] + 9;
	}
	return KX_CONF_RUN;
}

static int
parse_argv(struct state *st, int argc, char **argv, struct kx_strv *args)
{
	bool opts_done = false;
	int rc;

	for (int i = 1; i < argc; i++) {
		const struct kx_conf_entry *e;
		const char *a = argv[i], *val = NULL, *eq;
		char shortname[3] = "-?";

		if (opts_done || a[0] != '-' || a[1] == '\0') {
			if ((rc = kx_strv_push(args, a)))
				return rc;
			continue;
		}
		if (!strcmp(a, "--")) {
			opts_done = true;
			continue;
		}
		if (a[1] == '-') {
			eq = strchr(a + 2, '=');
			e = find_long(st->table, a + 2,
				      eq ? (size_t)(eq - a - 2) : strlen(a + 2));
			if (eq)
				val = eq + 1;
			if (!e && !strncmp(a + 2, "config", 6) &&
			    (a[8] == '\0' || a[8] == '=')) {
				i += a[8] == '\0';
				continue;
			}
		} else {
			e = find_short(st->table, a[1]);
			if (a[2])
				val = a + 2;
			shortname[1] = a[1];
		}
		if (!e)
			return fail(st, "unknown option '%s'%s", a,
				    " (see --help)");
		if (e->type == KX_CONF_BOOL && !val) {
			*(bool *)slot(st, e) = true;
			continue;
		}
		if (!val) {
			if (i + 1 >= argc)
				return fail(st, "option '%s' needs a value%s",
					    a[1] == '-' ? a : shortname, "");
			val = argv[++i];
		}
		if ((rc = set_value(st, e, val, SRC_ARGV)))
			return rc;
	}
	return 0;
}

int
kx_conf_parse(const struct kx_conf_entry *table, void *conf, int argc,
	      char **argv, struct kx_strv *args, char *errbuf, size_t errlen)
{
	struct state st = {table, conf, NULL, errbuf, errlen};
	const char *config = getenv("KX_CONFIG");
	size_t n = 0;
	int rc;

	rc = prescan(argc, argv, &config);
	if (rc != KX_CONF_RUN)
		return rc;
	while (table[n].name)
		n++;
	st.list_src = calloc(n + 1, 1);
	if (!st.list_src)
		return KX_ENOMEM;

	for (size_t i = 0; i < n; i++)
		if (table[i].def && (rc = set_value(&st, &table[i],
						    table[i].def, SRC_DEFAULT)))
			goto out;
	if (config && *config && (rc = load_file(&st, config)))
		goto out;
	for (size_t i = 0; i < n; i++) {
		const char *v = table[i].env ? getenv(table[i].env) : NULL;
		if (v && (rc = set_value(&st, &table[i], v, SRC_ENV))) {
			size_t used = strlen(errbuf);
			snprintf(errbuf + used, errlen - used, " (from %s)",
				 table[i].env);
			goto out;
		}
	}
	rc = parse_argv(&st, argc, argv, args);
out:
	free(st.list_src);
	return rc;
}

void
kx_conf_release(const struct kx_conf_entry *table, void *conf)
{
	struct state st = {table, conf, NULL, NULL, 0};

	for (const struct kx_conf_entry *e = table; e->name; e++) {
		if (e->type == KX_CONF_STR) {
			char **p = slot(&st, e);
			free(*p);
			*p = NULL;
		} else if (e->type == KX_CONF_LIST) {
			kx_strv_release(slot(&st, e));
		}
	}
}

void
kx_conf_usage(FILE *fp, const struct kx_conf_entry *table)
{
	for (const struct kx_conf_entry *e = table; e->name; e++) {
		char head[96];
		int n;

		if (e->short_opt)
			n = snprintf(head, sizeof(head), "  -%c, --%s",
				     e->short_opt, e->name);
		else
			n = snprintf(head, sizeof(head), "      --%s", e->name);
		if (e->type != KX_CONF_BOOL && n > 0 &&
		    (size_t)n < sizeof(head))
			snprintf(head + n, sizeof(head) - (size_t)n, " %s",
				 e->metavar ? e->metavar : "VALUE");
		fprintf(fp, "%-34s %s", head, e->desc);
		if (e->def && e->type != KX_CONF_BOOL)
			fprintf(fp, " [default: %s]", e->def);
		if (e->env)
			fprintf(fp, " [env: %s]", e->env);
		fputc('\n', fp);
	}
	fprintf(fp, "%-34s %s\n", "      --config FILE",
		"read settings from FILE (key = value lines) [env: KX_CONFIG]");
	fprintf(fp, "%-34s %s\n", "  -h, --help", "show this help and exit");
	fprintf(fp, "%-34s %s\n", "      --version",
		"show the version and exit");
}

void
kx_conf_example(FILE *fp, const struct kx_conf_entry *table)
{
	fputs("# Generated from the program's config table; every key is "
	      "shown with its default.\n# Precedence: this file < KX_* "
	      "environment < command-line flags.\n",
	      fp);
	for (const struct kx_conf_entry *e = table; e->name; e++) {
		fprintf(fp, "\n# %s", e->desc);
		if (e->env)
			fprintf(fp, " (env %s)", e->env);
		fputc('\n', fp);
		if (e->type == KX_CONF_LIST)
			fprintf(fp, "# May repeat.\n");
		fprintf(fp, "#%s = %s\n", e->name,
			e->def ? e->def
			       : (e->type == KX_CONF_BOOL ? "false" : ""));
	}
}

bool
kx_conf_start(const struct kx_conf_entry *table, void *conf, int argc,
	      char **argv, struct kx_strv *args, const char *prog,
	      const char *version, void (*usage)(FILE *), int *status)
{
	char errbuf[1024];
	int rc = kx_conf_parse(table, conf, argc, argv, args, errbuf,
			       sizeof(errbuf));

	if (rc == KX_CONF_HELP) {
		usage(stdout);
		*status = 0;
		return false;
	}
	if (rc == KX_CONF_VERSION) {
		printf("%s %s\n", prog, version);
		*status = 0;
		return false;
	}
	if (rc) {
		fprintf(stderr, "%s: %s\n", prog, errbuf);
		*status = 2;
		return false;
	}
	return true;
}

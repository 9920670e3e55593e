/*
 * kx-admin schemas check (see schemas.h).
 */
#include "schemas.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kx/buf.h"
#include "kx/codec.h"
#include "kx/compat.h"
#include "kx/err.h"
#include "kx/event.h"
#include "kx/schema.h"

#define MAX_SCHEMAS 256

struct entry {
	int id;
	enum kx_family family;
	int version;
	char file[256];
	char *avsc; /* owned when read from a folder */
	size_t len;
};

struct report {
	const char *family;
	int reader, writer;
};

static void
on_problem(void *opaque, const char *path, const char *why)
{
	const struct report *r = opaque;

	printf("kx-admin: %s: v%d cannot read v%d: %s: %s\n", r->family,
	       r->reader, r->writer, path, why);
}

/* Reads dir/catalogue.txt and its schemas; returns the count, or -1. */
static int
read_catalogue(const char *dir, struct entry *e, int max)
{
	char path[4096], line[512], fam[32];
	struct kx_buf text;
	FILE *f;
	int n = 0, lineno = 0;

	snprintf(path, sizeof(path), "%s/catalogue.txt", dir);
	if (!(f = fopen(path, "r"))) {
		fprintf(stderr, "kx-admin: cannot open '%s': %s\n", path,
			strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " \t");

		lineno++;
		if (*p == '#' || *p == '\n' || *p == '\0')
			continue;
		if (n == max ||
		    sscanf(p, "%d %31s %d %255s", &e[n].id, fam,
			   &e[n].version, e[n].file) != 4 ||
		    kx_family_parse(fam, &e[n].family)) {
			fprintf(stderr, "kx-admin: %s:%d: expected '<id> "
					"<family> <version> <file>'\n",
				path, lineno);
			goto fail;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, e[n].file);
		kx_buf_init(&text);
		if (kx_buf_read_file(&text, path)) {
			fprintf(stderr, "kx-admin: cannot read '%s': %s\n",
				path, strerror(errno));
			kx_buf_release(&text);
			goto fail;
		}
		e[n].avsc = text.data; /* the entry owns it now */
		e[n].len = text.len;
		snprintf(path, sizeof(path), "%s/catalogue.txt", dir);
		n++;
	}
	fclose(f);
	return n;
fail:
	fclose(f);
	while (n-- > 0)
		free(e[n].avsc);
	return -1;
}

int
kx_admin_schemas_check(const char *dir)
{
	static struct entry e[MAX_SCHEMAS];
	struct kx_codec *codec;
	char errbuf[512];
	int n = 0, checks = 0, bad = 0, unusable = 0, status;

	if (dir) {
		if ((n = read_catalogue(dir, e, MAX_SCHEMAS)) < 0)
			return 2;
	} else {
		size_t cn;
		const struct kx_schema_entry *cat = kx_schema_catalogue(&cn);

		for (size_t i = 0; i < cn && n < MAX_SCHEMAS; i++, n++) {
			e[n].id = cat[i].id;
			e[n].family = cat[i].family;
			e[n].version = cat[i].version;
			snprintf(e[n].file, sizeof(e[n].file), "%s",
				 cat[i].file);
			e[n].avsc = (char *)cat[i].avsc;
			e[n].len = cat[i].avsc_len;
		}
	}
	if (!(codec = kx_codec_new(errbuf, sizeof(errbuf)))) {
		fprintf(stderr, "kx-admin: %s\n", errbuf);
		status = 2;
		goto out;
	}

	for (int i = 0; i < n; i++) {
		/* KX itself must be able to read (and write) the schema. */
		if (kx_codec_add_schema(codec, 1000000 + i, e[i].family,
					e[i].avsc, errbuf, sizeof(errbuf))) {
			printf("kx-admin: %s: KX cannot use it: %s\n",
			       e[i].file, errbuf);
			unusable++;
		}
		for (int j = 0; j < n; j++) {
			struct report r = {kx_family_name(e[i].family),
					   e[i].version, e[j].version};
			int rc;

			if (i == j || e[i].family != e[j].family)
				continue;
			if (e[i].version == e[j].version) {
				if (i < j) {
					printf("kx-admin: %s: version %d is "
					       "listed twice\n",
					       r.family, e[i].version);
					unusable++;
				}
				continue;
			}
			/* e[i] reads what e[j] wrote: both directions. */
			checks++;
			rc = kx_compat_check(e[i].avsc, e[i].len, e[j].avsc,
					     e[j].len, on_problem, &r, errbuf,
					     sizeof(errbuf));
			if (rc && rc != KX_ESCHEMA) {
				printf("kx-admin: %s: %s\n", e[i].file,
				       errbuf);
				bad++;
			} else if (rc) {
				bad++;
			} else {
				printf("kx-admin: %s: v%d reads v%d\n",
				       r.family, r.reader, r.writer);
			}
		}
	}
	if (bad || unusable) {
		printf("kx-admin: schemas: %d of %d checks failed; %d of %d "
		       "schemas unusable\n",
		       bad, checks, unusable, n);
		status = 1;
	} else {
		printf("kx-admin: schemas: %d schemas, %d checks, every "
		       "version reads every other\n",
		       n, checks);
		status = 0;
	}
	kx_codec_free(codec);
out:
	if (dir)
		for (int i = 0; i < n; i++)
			free(e[i].avsc);
	return status;
}

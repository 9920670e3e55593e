/*
 * Tests of the Avro codec: round trips of every event type, the Confluent
 * framing, schema evolution in both directions (a newer writer read by this
 * model, an older writer filled from the reader's defaults), enum mapping by
 * symbol, and hostile bytes, each of which must give a clear reason and
 * leak nothing (run under valgrind and ASan).
 *
 * `test_codec --bench` prints encode and decode throughput instead of
 * running the tests.
 */
#include <avro.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* cmocka.h needs the headers above first. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "kx/arena.h"
#include "kx/buf.h"
#include "kx/codec.h"
#include "kx/err.h"
#include "kx/event.h"
#include "kx/event_json.h"
#include "kx/schema.h"
#include "kx/validate.h"

/* Test hook in codec.c: stands in for a newer catalogue schema. */
int kx__codec_set_reader(struct kx_codec *c, enum kx_family family,
			 const char *avsc, char *errbuf, size_t errlen);

/* Test hook in codec_encode.c: the reference encoder, through Avro-C. */
int kx__codec_encode_generic(struct kx_codec *c, const struct kx_event *ev,
			     int32_t id, struct kx_buf *out, char *errbuf,
			     size_t errlen);

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------------
 * Fixtures
 */

struct fx {
	struct kx_codec *c;
	struct kx_arena arena;
	struct kx_buf buf;
	char err[512];
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->c = kx_codec_new(fx->err, sizeof(fx->err));
	if (!fx->c) {
		fprintf(stderr, "kx_codec_new: %s\n", fx->err);
		free(fx);
		return -1;
	}
	kx_arena_init(&fx->arena);
	kx_buf_init(&fx->buf);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	kx_codec_free(fx->c);
	kx_arena_release(&fx->arena);
	kx_buf_release(&fx->buf);
	free(fx);
	return 0;
}

static const struct kx_party world[] = {
	{"Київ", "UA", KX_PARTY_CITY, false},
	{"北京", "CN", KX_PARTY_CITY, false},
	{"São Paulo", "BR", KX_PARTY_METROPOLITAN_AREA, false},
	{"القاهرة", "EG", KX_PARTY_CITY, false},
	{"Zürich", "CH", KX_PARTY_CITY, false},
	{"Île-de-France", "FR", KX_PARTY_REGION, true},
	{"Association of Cities of Catalonia", "ES", KX_PARTY_ORGANISATION,
	 true},
};

static const char *sdgs_a[] = {"11", "11.6", "7.a.1"};
static const char *sdgs_b[] = {"13.2"};
static const char *themes_a[] = {"circular-economy", "urban-mobility"};

/*
 * Fills ev with a contract-valid event of the given type. Variant 0 sets
 * every optional field; variant 1 leaves them all absent.
 */
static void
make_event(struct kx_arena *a, enum kx_event_type type, int variant,
	   struct kx_event *ev)
{
	static int serial;
	struct kx_party *ps = kx_arena_calloc(a, 4, sizeof(*ps));
	bool full = variant == 0;

	memset(ev, 0, sizeof(*ev));
	for (int i = 0; i < 4; i++)
		ps[i] = world[(i + (int)type + variant) % N_ELEMS(world)];
	ev->type = type;
	snprintf(ev->event_id, sizeof(ev->event_id),
		 "3f2a1c4e-8b7d-4e6f-9a0b-%012x", ++serial);
	ev->occurred_at = 1741941000000000LL + (int64_t)type * 1000003;
	ev->occurred_offset = full ? 60 : -300;
	ev->source = full ? "partner.crm-1" : "kx";
	ev->programme = (enum kx_programme)((int)type % KX_PROGRAMME__COUNT);
	ev->geo_area = full ? "LAC" : NULL;
	ev->sdgs = full ? sdgs_a : sdgs_b;
	ev->n_sdgs = full ? N_ELEMS(sdgs_a) : N_ELEMS(sdgs_b);
	ev->themes = full ? themes_a : NULL;
	ev->n_themes = full ? N_ELEMS(themes_a) : 0;

	switch (kx_event_type_family(type)) {
	case KX_FAMILY_PAIRING:
		ev->u.pairing.pairing_id = "IURC-LAC-2025-007";
		ev->u.pairing.cooperation_type =
			full ? KX_COOP_TRIO : KX_COOP_BILATERAL;
		ev->u.pairing.members = ps;
		ev->u.pairing.n_members = full ? 3 : 2;
		ev->u.pairing.pilot_projects = full ? 4 : 0;
		ev->u.pairing.budget_eur = full ? 250000 : -1;
		break;
	case KX_FAMILY_VISIT:
		ev->u.visit.visit_id = "visit-2025-03-zurich";
		ev->u.visit.pairing_id = full ? "IURC-LAC-2025-007" : NULL;
		ev->u.visit.visit_type =
			full ? KX_VISIT_STUDY_VISIT : KX_VISIT_WEBINAR;
		ev->u.visit.format =
			full ? KX_FORMAT_HYBRID : KX_FORMAT_VIRTUAL;
		ev->u.visit.host = ps[0];
		ev->u.visit.visitors = ps + 1;
		ev->u.visit.n_visitors = full ? 3 : 1;
		ev->u.visit.start_date = 20100;
		ev->u.visit.end_date = 20100 + (full ? 3 : 0);
		ev->u.visit.participants = type == KX_EVENT_VISIT_HELD
						   ? (full ? 48 : 0)
					   : full ? 30
						  : -1;
		if (full) {
			ev->u.visit.report_url =
				"https://iurc.eu/visits/zürich-2025.pdf";
			ev->u.visit.by_sector =
				(struct kx_sectors){true, 10, 12, 6, 2};
			ev->u.visit.follow_up = KX_FOLLOW_UP_PILOT;
		}
		break;
	case KX_FAMILY_PRACTICE:
		if (type == KX_EVENT_PRACTICE_DOCUMENTED) {
			ev->u.practice.practice_id = "practice-42";
			ev->u.practice.title =
				full ? "Circular procurement in Київ: a "
				       "handbook"
				     : "t";
			ev->u.practice.origin = ps[2];
			ev->u.practice.product_type =
				full ? KX_PRODUCT_HANDBOOK
				     : KX_PRODUCT_CASE_STUDY;
			ev->u.practice.url =
				full ? "http://practices.example.org/42" : NULL;
		} else {
			ev->u.transfer.transfer_id = "transfer-42-1";
			ev->u.transfer.practice_id = "practice-42";
			ev->u.transfer.adopter = ps[3];
		}
		break;
	default:
		break;
	}
}

static int32_t
latest_id(enum kx_event_type type)
{
	return (int32_t)kx_schema_latest(kx_event_type_family(type))->id;
}

/* Encodes ev with its family's newest schema and decodes it back. */
static int
round_trip(struct fx *fx, const struct kx_event *ev, struct kx_event *out)
{
	int32_t id = -1;
	int rc;

	kx_buf_reset(&fx->buf);
	rc = kx_codec_encode(fx->c, ev, latest_id(ev->type), &fx->buf, fx->err,
			     sizeof(fx->err));
	if (rc) {
		fprintf(stderr, "encode: %s\n", fx->err);
		return rc;
	}
	rc = kx_codec_decode(fx->c, fx->buf.data, fx->buf.len, &fx->arena, out,
			     &id, fx->err, sizeof(fx->err));
	if (rc)
		fprintf(stderr, "decode: %s\n", fx->err);
	else
		assert_int_equal(id, latest_id(ev->type));
	return rc;
}

static int
decode(struct fx *fx, const void *data, size_t len, struct kx_event *ev)
{
	fx->err[0] = '\0';
	return kx_codec_decode(fx->c, data, len, &fx->arena, ev, NULL, fx->err,
			       sizeof(fx->err));
}

#define assert_reason(fx, needle)                                              \
	do {                                                                   \
		if (!strstr((fx)->err, (needle)))                              \
			fail_msg("reason '%s' lacks '%s'", (fx)->err,          \
				 (needle));                                    \
	} while (0)

/* ------------------------------------------------------------------------
 * Hand-built payloads (the v1 pairing layout)
 */

struct raw {
	uint8_t b[8192];
	size_t n;
};

static void
raw_header(struct raw *r, int32_t id)
{
	r->n = 0;
	r->b[r->n++] = 0;
	r->b[r->n++] = (uint8_t)((uint32_t)id >> 24);
	r->b[r->n++] = (uint8_t)((uint32_t)id >> 16);
	r->b[r->n++] = (uint8_t)((uint32_t)id >> 8);
	r->b[r->n++] = (uint8_t)id;
}

static void
raw_long(struct raw *r, int64_t v)
{
	uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);

	while (z >= 0x80) {
		r->b[r->n++] = (uint8_t)(z | 0x80);
		z >>= 7;
	}
	r->b[r->n++] = (uint8_t)z;
}

static void
raw_bytes(struct raw *r, const void *p, size_t n)
{
	raw_long(r, (int64_t)n);
	memcpy(r->b + r->n, p, n);
	r->n += n;
}

static void
raw_str(struct raw *r, const char *s)
{
	raw_bytes(r, s, strlen(s));
}

/* Knobs for raw_pairing; zero values give a valid message. */
struct raw_opts {
	const char *event_id;
	int type_index;
	int64_t offset_min;
	const void *source;
	size_t source_len;
	int geo_branch; /* 0 null, 1 string, else as given */
	uint8_t eu_byte;
	const char *programme;
	const char *country;
	bool sdg_blocks; /* sdgs in two blocks, the first with its size */
};

static void
raw_pairing(struct raw *r, const struct raw_opts *o)
{
	raw_header(r, 101);
	raw_str(r, o->event_id ? o->event_id
			       : "0b6c1a52-3e0f-4c8e-9d61-5e3f1b2a4c7d");
	raw_long(r, o->type_index);
	raw_long(r, 1741941000000000LL);
	raw_long(r, o->offset_min);
	if (o->source)
		raw_bytes(r, o->source, o->source_len);
	else
		raw_str(r, "partner.crm");
	raw_str(r, o->programme ? o->programme : "IURC");
	raw_long(r, o->geo_branch);
	if (o->geo_branch == 1)
		raw_str(r, "LAC");
	if (o->sdg_blocks) {
		/* A negative count is followed by the block's size in bytes. */
		raw_long(r, -2);
		raw_long(r, 11); /* "11.6" and "7.2.1": 5 + 6 bytes */
		raw_str(r, "11.6");
		raw_str(r, "7.2.1");
		raw_long(r, 1);
		raw_str(r, "13");
	} else {
		raw_long(r, 1); /* sdgs: one item */
		raw_str(r, "11.6");
	}
	raw_long(r, 0);
	raw_long(r, 0); /* themes: none */
	raw_str(r, "P-1");
	raw_long(r, 0); /* bilateral */
	raw_long(r, 1); /* members: one party */
	raw_str(r, "Zürich");
	raw_str(r, o->country ? o->country : "CH");
	raw_long(r, 0);
	r->b[r->n++] = o->eu_byte;
	raw_long(r, 0);
	raw_long(r, 2); /* pilot_projects */
}

/* ------------------------------------------------------------------------
 * Round trips and framing
 */

static void
test_codec__round_trip_every_event_type(void **state)
{
	struct fx *fx = *state;
	struct kx_event ev, out;

	for (int t = 0; t < KX_EVENT__COUNT; t++) {
		for (int variant = 0; variant < 2; variant++) {
			make_event(&fx->arena, (enum kx_event_type)t, variant,
				   &ev);
			assert_int_equal(round_trip(fx, &ev, &out), 0);
			if (!kx_event_equal(&ev, &out))
				fail_msg("%s variant %d differs after the "
					 "round trip",
					 kx_event_type_name(ev.type), variant);
		}
	}
}

static void
test_codec__round_trip_keeps_scripts_and_optionals(void **state)
{
	struct fx *fx = *state;
	struct kx_event ev, out;

	make_event(&fx->arena, KX_EVENT_VISIT_HELD, 0, &ev);
	assert_int_equal(round_trip(fx, &ev, &out), 0);
	assert_string_equal(out.u.visit.pairing_id, "IURC-LAC-2025-007");
	assert_string_equal(out.geo_area, "LAC");
	assert_int_equal(out.u.visit.participants, 48);
	assert_int_equal(out.u.visit.n_visitors, 3);
	/* Every name survives byte for byte, whatever its script. */
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(out.u.visit.visitors[i].name,
				    ev.u.visit.visitors[i].name);

	make_event(&fx->arena, KX_EVENT_VISIT_PLANNED, 1, &ev);
	assert_int_equal(round_trip(fx, &ev, &out), 0);
	assert_null(out.u.visit.pairing_id);
	assert_null(out.geo_area);
	assert_int_equal(out.u.visit.participants, -1);
	assert_int_equal(out.n_themes, 0);
}

static void
test_codec__round_trip_big_members_array(void **state)
{
	struct fx *fx = *state;
	struct kx_event ev, out;
	const size_t n = 5000;
	struct kx_party *ps = kx_arena_calloc(&fx->arena, n, sizeof(*ps));

	for (size_t i = 0; i < n; i++) {
		char name[64];
		ps[i] = world[i % N_ELEMS(world)];
		snprintf(name, sizeof(name), "%s %zu", ps[i].name, i);
		ps[i].name = kx_arena_strdup(&fx->arena, name);
	}
	make_event(&fx->arena, KX_EVENT_PAIRING_MATCHED, 0, &ev);
	ev.u.pairing.cooperation_type = KX_COOP_COHORT;
	ev.u.pairing.members = ps;
	ev.u.pairing.n_members = n;
	assert_int_equal(round_trip(fx, &ev, &out), 0);
	assert_true(kx_event_equal(&ev, &out));
	assert_int_equal(out.u.pairing.n_members, n);
}

static void
test_codec__too_many_items_are_refused(void **state)
{
	struct fx *fx = *state;
	struct kx_event ev;
	const size_t n = KX_CODEC_MAX_ITEMS + 1;
	struct kx_party *ps = kx_arena_calloc(&fx->arena, n, sizeof(*ps));
	struct raw r;

	for (size_t i = 0; i < n; i++)
		ps[i] = world[i % N_ELEMS(world)];
	make_event(&fx->arena, KX_EVENT_PAIRING_MATCHED, 0, &ev);
	ev.u.pairing.members = ps;
	ev.u.pairing.n_members = n;
	assert_int_equal(kx_codec_encode(fx->c, &ev, 101, &fx->buf, fx->err,
					 sizeof(fx->err)),
			 KX_ETOOLONG);
	assert_reason(fx, "'members'");
	assert_int_equal(fx->buf.len, 0);

	/* A decoder sees the same limit before Avro-C allocates. */
	raw_header(&r, 201);
	raw_str(&r, "0b6c1a52-3e0f-4c8e-9d61-5e3f1b2a4c7d");
	raw_long(&r, 0);
	raw_long(&r, 0);
	raw_long(&r, 0);
	raw_str(&r, "s");
	raw_str(&r, "IUC");
	raw_long(&r, 0);
	raw_long(&r, (int64_t)1 << 40); /* sdgs: 2^40 null-free items */
	assert_int_equal(decode(fx, r.b, r.n, &ev), KX_ETOOLONG);
	assert_reason(fx, "'sdgs': more than 32768 items");
}

static void
test_codec__framing_header_bytes(void **state)
{
	static const struct {
		enum kx_event_type type;
		uint8_t header[5];
	} cases[] = {
		{KX_EVENT_PAIRING_PROPOSED, {0x00, 0x00, 0x00, 0x00, 0x66}},
		{KX_EVENT_VISIT_HELD, {0x00, 0x00, 0x00, 0x00, 0xca}},
		{KX_EVENT_PRACTICE_DOCUMENTED, {0x00, 0x00, 0x00, 0x01, 0x2e}},
		{KX_EVENT_TRANSFER_PILOTING, {0x00, 0x00, 0x00, 0x01, 0x2e}},
	};
	struct fx *fx = *state;
	struct kx_event ev;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		make_event(&fx->arena, cases[i].type, 0, &ev);
		kx_buf_reset(&fx->buf);
		assert_int_equal(
			kx_codec_encode(fx->c, &ev, latest_id(cases[i].type),
					&fx->buf, fx->err, sizeof(fx->err)),
			0);
		assert_true(fx->buf.len > 5);
		assert_memory_equal(fx->buf.data, cases[i].header, 5);
	}

	/* A registry id uses all four bytes, big-endian. */
	assert_int_equal(kx_codec_add_schema(fx->c, 0x01020304,
					     KX_FAMILY_PAIRING,
					     kx_schema_by_id(101)->avsc,
					     fx->err, sizeof(fx->err)),
			 0);
	make_event(&fx->arena, KX_EVENT_PAIRING_MATCHED, 0, &ev);
	kx_buf_reset(&fx->buf);
	assert_int_equal(kx_codec_encode(fx->c, &ev, 0x01020304, &fx->buf,
					 fx->err, sizeof(fx->err)),
			 0);
	assert_memory_equal(fx->buf.data, "\x00\x01\x02\x03\x04", 5);
}

static void
test_codec__catalogue_ids_are_family_times_100_plus_version(void **state)
{
	size_t n;
	const struct kx_schema_entry *cat = kx_schema_catalogue(&n);

	(void)state;
	assert_int_equal(kx_schema_latest(KX_FAMILY_PAIRING)->id, 102);
	assert_int_equal(kx_schema_latest(KX_FAMILY_VISIT)->id, 202);
	assert_int_equal(kx_schema_latest(KX_FAMILY_PRACTICE)->id, 302);
	assert_int_equal(n, 6);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(cat[i].id,
				 ((int)cat[i].family + 1) * 100 + cat[i].version);
	assert_non_null(kx_schema_by_id(101));
	assert_non_null(kx_schema_by_id(201));
	assert_non_null(kx_schema_by_id(301));
}

/* ------------------------------------------------------------------------
 * Golden fixtures written by fastavro (tests/data/avro/gen_fixtures.py)
 */

static char *
read_fixture(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *data = malloc(4096);

	snprintf(path, sizeof(path), "%s/avro/%s", KX_TEST_DATA, name);
	f = fopen(path, "rb");
	if (!f || !data)
		fail_msg("cannot open '%s'", path);
	*len = fread(data, 1, 4096, f);
	fclose(f);
	return data;
}

static struct kx_party
party(const char *name, const char *cc, enum kx_party_kind kind, bool eu)
{
	struct kx_party p = {name, "", kind, eu};

	memcpy(p.country, cc, 3);
	return p;
}

/* The events of gen_fixtures.py, as KX sees them. */
static void
fixture_event(int i, struct kx_event *ev)
{
	static const char *pairing_sdgs[] = {"11", "11.6", "7.a.1"};
	static const char *pairing_themes[] = {"circular-economy"};
	static const char *visit_sdgs[] = {"13.2"};
	static const char *practice_sdgs[] = {"11.6.2"};
	static const char *practice_themes[] = {"circular-economy",
						"public-procurement"};
	static struct kx_party ps[3];

	memset(ev, 0, sizeof(*ev));
	switch (i) {
	case 0:
		ev->type = KX_EVENT_PAIRING_AGREEMENT_SIGNED;
		strcpy(ev->event_id, "7c9e6679-7425-40de-944b-e07fc1f90ae7");
		ev->occurred_at = 1741941000123456LL;
		ev->occurred_offset = 60;
		ev->source = "partner.crm";
		ev->programme = KX_PROGRAMME_IURC;
		ev->geo_area = "LAC";
		ev->sdgs = pairing_sdgs;
		ev->n_sdgs = 3;
		ev->themes = pairing_themes;
		ev->n_themes = 1;
		ev->u.pairing.pairing_id = "IURC-LAC-007";
		ev->u.pairing.cooperation_type = KX_COOP_TRIO;
		ps[0] = party("Київ", "UA", KX_PARTY_CITY, false);
		ps[1] = party("São Paulo", "BR", KX_PARTY_METROPOLITAN_AREA,
			      false);
		ps[2] = party("Île-de-France", "FR", KX_PARTY_REGION, true);
		ev->u.pairing.members = ps;
		ev->u.pairing.n_members = 3;
		ev->u.pairing.pilot_projects = 4;
		ev->u.pairing.budget_eur = -1; /* v1 has none */
		break;
	case 1:
		ev->type = KX_EVENT_VISIT_HELD;
		strcpy(ev->event_id, "16fd2706-8baf-433b-82eb-8c7fada847da");
		ev->occurred_at = 1742000000000000LL;
		ev->occurred_offset = -300;
		ev->source = "events.portal";
		ev->programme = KX_PROGRAMME_IUC;
		ev->sdgs = visit_sdgs;
		ev->n_sdgs = 1;
		ev->u.visit.visit_id = "V-2025-031";
		ev->u.visit.visit_type = KX_VISIT_STUDY_VISIT;
		ev->u.visit.format = KX_FORMAT_HYBRID;
		ev->u.visit.host = party("北京", "CN", KX_PARTY_CITY, false);
		ps[0] = party("القاهرة", "EG", KX_PARTY_CITY, false);
		ps[1] = party("Zürich", "CH", KX_PARTY_CITY, false);
		ev->u.visit.visitors = ps;
		ev->u.visit.n_visitors = 2;
		ev->u.visit.start_date = 20100;
		ev->u.visit.end_date = 20103;
		ev->u.visit.participants = 48;
		break;
	case 2:
		ev->type = KX_EVENT_PRACTICE_DOCUMENTED;
		strcpy(ev->event_id, "886313e1-3b8a-4372-9b90-0c9aee199e5d");
		ev->occurred_at = 1743000000000000LL;
		ev->source = "catalogue";
		ev->programme = KX_PROGRAMME_URBELAC;
		ev->geo_area = "LAC";
		ev->sdgs = practice_sdgs;
		ev->n_sdgs = 1;
		ev->themes = practice_themes;
		ev->n_themes = 2;
		ev->u.practice.practice_id = "P-42";
		ev->u.practice.title = "Circular procurement: a handbook";
		ev->u.practice.origin =
			party("Zürich", "CH", KX_PARTY_CITY, false);
		ev->u.practice.product_type = KX_PRODUCT_HANDBOOK;
		break;
	default:
		ev->type = KX_EVENT_TRANSFER_REPLICATED;
		strcpy(ev->event_id, "0b6c1a52-3e0f-4c8e-9d61-5e3f1b2a4c7d");
		ev->occurred_at = 1744000000000000LL;
		ev->occurred_offset = 120;
		ev->source = "catalogue";
		ev->programme = KX_PROGRAMME_URBELAC;
		ev->u.transfer.practice_id = "P-42";
		ev->u.transfer.transfer_id = "T-42-1";
		ev->u.transfer.adopter =
			party("Київ", "UA", KX_PARTY_CITY, false);
		break;
	}
}

/* The v2 fields gen_fixtures.py sets on the v2 twin of fixture i. */
static void
fixture_v2(int i, struct kx_event *ev)
{
	switch (i) {
	case 0:
		ev->u.pairing.budget_eur = 1250000;
		break;
	case 1:
		ev->u.visit.report_url = "https://iurc.eu/reports/V-2025-031";
		ev->u.visit.by_sector = (struct kx_sectors){true, 20, 12, 9, 7};
		ev->u.visit.follow_up = KX_FOLLOW_UP_ACTION_PLAN;
		break;
	case 2:
		ev->u.practice.url = "https://practices.example.org/P-42";
		break;
	default:
		break;
	}
}

static void
test_codec__golden_fixtures_decode_and_encode_byte_for_byte(void **state)
{
	static const struct {
		const char *file;
		int32_t id;
	} files[] = {{"pairing.v1.bin", 101},  {"visit.v1.bin", 201},
		     {"practice.v1.bin", 301}, {"transfer.v1.bin", 301},
		     {"pairing.v2.bin", 102},  {"visit.v2.bin", 202},
		     {"practice.v2.bin", 302}, {"transfer.v2.bin", 302}};
	struct fx *fx = *state;
	struct kx_event want, got;

	for (int i = 0; i < (int)N_ELEMS(files); i++) {
		size_t len;
		char *data = read_fixture(files[i].file, &len);
		int32_t id = -1;

		fixture_event(i % 4, &want);
		if (i >= 4)
			fixture_v2(i % 4, &want);
		if (kx_codec_decode(fx->c, data, len, &fx->arena, &got, &id,
				    fx->err, sizeof(fx->err)))
			fail_msg("%s: %s", files[i].file, fx->err);
		if (!kx_event_equal(&want, &got))
			fail_msg("%s decodes to another event", files[i].file);
		assert_int_equal(id, files[i].id);
		kx_buf_reset(&fx->buf);
		assert_int_equal(kx_codec_encode(fx->c, &want, files[i].id,
						 &fx->buf, fx->err,
						 sizeof(fx->err)),
				 0);
		assert_int_equal(fx->buf.len, len);
		assert_memory_equal(fx->buf.data, data, len);
		free(data);
	}
}

static void
test_codec__encode_appends_to_the_buffer(void **state)
{
	struct fx *fx = *state;
	struct kx_event a, b, out;
	size_t first;

	make_event(&fx->arena, KX_EVENT_PAIRING_COMPLETED, 0, &a);
	make_event(&fx->arena, KX_EVENT_TRANSFER_REPLICATED, 1, &b);
	assert_int_equal(kx_buf_adds(&fx->buf, "key"), 0);
	assert_int_equal(kx_codec_encode(fx->c, &a, 102, &fx->buf, fx->err,
					 sizeof(fx->err)),
			 0);
	first = fx->buf.len;
	assert_int_equal(kx_codec_encode(fx->c, &b, 302, &fx->buf, fx->err,
					 sizeof(fx->err)),
			 0);
	assert_memory_equal(fx->buf.data, "key", 3);
	assert_int_equal(decode(fx, fx->buf.data + 3, first - 3, &out), 0);
	assert_true(kx_event_equal(&a, &out));
	assert_int_equal(
		decode(fx, fx->buf.data + first, fx->buf.len - first, &out), 0);
	assert_true(kx_event_equal(&b, &out));
}

static void
test_codec__encode_rejects_the_wrong_family(void **state)
{
	struct fx *fx = *state;
	struct kx_event ev;

	make_event(&fx->arena, KX_EVENT_VISIT_HELD, 0, &ev);
	assert_int_equal(kx_codec_encode(fx->c, &ev, 101, &fx->buf, fx->err,
					 sizeof(fx->err)),
			 KX_EINVAL);
	assert_reason(fx, "schema 101");
	assert_int_equal(kx_codec_encode(fx->c, &ev, 4242, &fx->buf, fx->err,
					 sizeof(fx->err)),
			 KX_ESCHEMA_ID);
	assert_reason(fx, "unknown schema id 4242");
	ev.u.visit.host.name = NULL;
	assert_int_equal(kx_codec_encode(fx->c, &ev, 201, &fx->buf, fx->err,
					 sizeof(fx->err)),
			 KX_EINVAL);
	assert_reason(fx, "'host': required");
	assert_int_equal(fx->buf.len, 0);
}

static void
test_codec__event_id_is_lower_cased(void **state)
{
	struct fx *fx = *state;
	struct raw_opts o = {0};
	struct kx_event ev;
	struct raw r;

	o.event_id = "0B6C1A52-3E0F-4C8E-9D61-5E3F1B2A4C7D";
	raw_pairing(&r, &o);
	assert_int_equal(decode(fx, r.b, r.n, &ev), 0);
	assert_string_equal(ev.event_id,
			    "0b6c1a52-3e0f-4c8e-9d61-5e3f1b2a4c7d");
	assert_string_equal(ev.u.pairing.members[0].name, "Zürich");
	assert_int_equal(ev.u.pairing.pilot_projects, 2);
}

static void
test_codec__rejects_values_the_event_cannot_hold(void **state)
{
	struct fx *fx = *state;
	struct raw_opts o = {0};
	struct kx_event ev;
	struct raw r;

	o.programme = "ERASMUS";
	raw_pairing(&r, &o);
	assert_int_equal(decode(fx, r.b, r.n, &ev), KX_EINVALID_EVENT);
	assert_reason(fx, "'programme': 'ERASMUS' is not a programme");

	o.programme = NULL;
	o.country = "CHE";
	raw_pairing(&r, &o);
	assert_int_equal(decode(fx, r.b, r.n, &ev), KX_EINVALID_EVENT);
	assert_reason(fx, "'members[0].country': 'CHE' is not an ISO 3166-1 "
			  "alpha-2 code");

	o.country = NULL;
	o.event_id = "0b6c1a52-3e0f-4c8e-9d61-5e3f1b2a4c7d-and-more";
	raw_pairing(&r, &o);
	assert_int_equal(decode(fx, r.b, r.n, &ev), KX_EINVALID_EVENT);
	assert_reason(fx, "'event_id': '0b6c1a52-3e0f-4c8e-9d61-5e3f1b2a4c7d-"
			  "and' is not a UUID");

	/* A quoted value is cut between characters, never inside one. */
	o.event_id = NULL;
	o.programme = "Programmes européen ééééééééééééééééééé";
	raw_pairing(&r, &o);
	assert_int_equal(decode(fx, r.b, r.n, &ev), KX_EINVALID_EVENT);
	/* 21 bytes, then 9 two-byte characters: byte 40 is mid-character. */
	assert_reason(fx, "'programme': 'Programmes européen ééééééééé' is "
			  "not a programme");
}

static void
test_codec__practice_documented_requires_its_fields(void **state)
{
	struct fx *fx = *state;
	struct kx_event ev;
	struct raw r;

	raw_header(&r, 301);
	raw_str(&r, "0b6c1a52-3e0f-4c8e-9d61-5e3f1b2a4c7d");
	raw_long(&r, 0); /* practice_documented */
	raw_long(&r, 1741941000000000LL);
	raw_long(&r, 0);
	raw_str(&r, "s");
	raw_str(&r, "RPD");
	raw_long(&r, 0);
	raw_long(&r, 0);
	raw_long(&r, 0);
	raw_str(&r, "practice-1");
	raw_long(&r, 0); /* title: null */
	raw_long(&r, 0);
	raw_long(&r, 0);
	raw_long(&r, 0);
	raw_long(&r, 0);
	assert_int_equal(decode(fx, r.b, r.n, &ev), KX_EINVALID_EVENT);
	assert_reason(fx, "'title': required for practice.documented");
}

/* ------------------------------------------------------------------------
 * Hostile bytes
 */

static void
test_codec__rejects_empty_and_short_messages(void **state)
{
	struct fx *fx = *state;
	struct kx_event ev;

	assert_int_equal(decode(fx, "", 0, &ev), KX_EMAGIC);
	assert_reason(fx,
		      "message is shorter than the 5-byte Confluent header");
	assert_int_equal(decode(fx, "\0\0\0\x65", 4, &ev), KX_EMAGIC);
	assert_reason(fx,
		      "message is shorter than the 5-byte Confluent header");
}

static void
test_codec__rejects_wrong_magic_byte(void **state)
{
	struct fx *fx = *state;
	struct kx_event ev;

	assert_int_equal(decode(fx, "\x01\0\0\0\x65\x02", 6, &ev), KX_EMAGIC);
	assert_reason(fx, "wrong magic byte 0x01");
	assert_int_equal(decode(fx, "{\"event_id\":1}", 14, &ev), KX_EMAGIC);
	assert_reason(fx, "wrong magic byte 0x7b");
}

static void
test_codec__rejects_unknown_schema_id(void **state)
{
	struct fx *fx = *state;
	struct kx_event ev;
	int32_t id = 0;

	assert_int_equal(kx_codec_decode(fx->c, "\0\0\0\x03\xe7\x02", 6,
					 &fx->arena, &ev, &id, fx->err,
					 sizeof(fx->err)),
			 KX_ESCHEMA_ID);
	assert_int_equal(id, 999);
	assert_reason(fx, "unknown schema id 999");
}

static void
test_codec__rejects_truncation_at_every_length(void **state)
{
	struct fx *fx = *state;
	struct kx_event ev, out;

	for (int t = 0; t < KX_EVENT__COUNT; t++) {
		make_event(&fx->arena, (enum kx_event_type)t, t % 2, &ev);
		kx_buf_reset(&fx->buf);
		assert_int_equal(kx_codec_encode(fx->c, &ev, latest_id(ev.type),
						 &fx->buf, fx->err,
						 sizeof(fx->err)),
				 0);
		for (size_t n = 0; n < fx->buf.len; n++) {
			int rc = decode(fx, fx->buf.data, n, &out);
			assert_int_equal(rc, n < 5 ? KX_EMAGIC : KX_ETRUNCATED);
			assert_true(fx->err[0] != '\0');
		}
		assert_int_equal(decode(fx, fx->buf.data, fx->buf.len, &out),
				 0);
		kx_arena_reset(&fx->arena);
	}
	/* One reason in full, to see that it names the field. */
	make_event(&fx->arena, KX_EVENT_PAIRING_PROPOSED, 0, &ev);
	kx_buf_reset(&fx->buf);
	kx_codec_encode(fx->c, &ev, 101, &fx->buf, fx->err, sizeof(fx->err));
	assert_int_equal(decode(fx, fx->buf.data, 20, &out), KX_ETRUNCATED);
	assert_reason(fx, "'event_id': string of 36 bytes but only 14 left");
}

static void
test_codec__rejects_huge_string_length(void **state)
{
	struct fx *fx = *state;
	struct kx_event ev;
	struct raw r;

	/* 100 MB claimed in a 7-byte payload: nothing may be allocated. */
	raw_header(&r, 101);
	raw_long(&r, 100 * 1024 * 1024);
	memcpy(r.b + r.n, "abc", 3);
	r.n += 3;
	assert_int_equal(r.n, 5 + 7);
	assert_int_equal(decode(fx, r.b, r.n, &ev), KX_ETRUNCATED);
	assert_reason(fx, "'event_id': string of 104857600 bytes but only 3 "
			  "left");

	/* The largest length a varint can hold. */
	raw_header(&r, 101);
	raw_long(&r, INT64_MAX);
	assert_int_equal(decode(fx, r.b, r.n, &ev), KX_ETRUNCATED);
}

static void
test_codec__rejects_negative_length(void **state)
{
	struct fx *fx = *state;
	struct kx_event ev;
	struct raw r;

	raw_header(&r, 101);
	raw_long(&r, -5);
	memcpy(r.b + r.n, "abcdef", 6);
	r.n += 6;
	assert_int_equal(decode(fx, r.b, r.n, &ev), KX_EAVRO);
	assert_reason(fx, "'event_id': negative string length -5");
}

static void
test_codec__rejects_enum_index_out_of_range(void **state)
{
	struct fx *fx = *state;
	struct raw_opts o = {0};
	struct kx_event ev;
	struct raw r;

	o.type_index = 7; /* a pairing has symbols 0-6 */
	raw_pairing(&r, &o);
	assert_int_equal(decode(fx, r.b, r.n, &ev), KX_ERANGE);
	assert_reason(fx, "'event_type': enum index 7 is out of range");
	o.type_index = -1;
	raw_pairing(&r, &o);
	assert_int_equal(decode(fx, r.b, r.n, &ev), KX_ERANGE);
	assert_reason(fx, "enum index -1");
}

static void
test_codec__rejects_union_branch_out_of_range(void **state)
{
	struct fx *fx = *state;
	struct raw_opts o = {0};
	struct kx_event ev;
	struct raw r;

	o.geo_branch = 2;
	raw_pairing(&r, &o);
	assert_int_equal(decode(fx, r.b, r.n, &ev), KX_ERANGE);
	assert_reason(fx, "'geo_area': union branch 2 is out of range");
	o.geo_branch = -3;
	raw_pairing(&r, &o);
	assert_int_equal(decode(fx, r.b, r.n, &ev), KX_ERANGE);
	assert_reason(fx, "union branch -3");
	o.geo_branch = 1;
	raw_pairing(&r, &o);
	assert_int_equal(decode(fx, r.b, r.n, &ev), 0);
	assert_string_equal(ev.geo_area, "LAC");
}

static void
test_codec__rejects_trailing_bytes(void **state)
{
	struct fx *fx = *state;
	struct kx_event ev, out;

	make_event(&fx->arena, KX_EVENT_VISIT_CANCELLED, 0, &ev);
	assert_int_equal(kx_codec_encode(fx->c, &ev, 201, &fx->buf, fx->err,
					 sizeof(fx->err)),
			 0);
	assert_int_equal(kx_buf_add(&fx->buf, "xyz", 3), 0);
	assert_int_equal(decode(fx, fx->buf.data, fx->buf.len, &out), KX_EAVRO);
	assert_reason(fx, "3 trailing bytes");
}

static void
test_codec__rejects_nul_and_invalid_utf8(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
		const char *reason;
	} cases[] = {
		{"crm\0x", 5, "'source': contains a NUL byte"},
		{"\xc3\x28", 2, "'source': not valid UTF-8"},
		{"\xc0\xaf", 2, "'source': not valid UTF-8"}, /* overlong */
		{"\xed\xa0\x80", 3,
		 "'source': not valid UTF-8"}, /* surrogate */
		{"\xf4\x90\x80\x80", 4,
		 "'source': not valid UTF-8"},			/* > U+10FFFF */
		{"ab\xe2\x82", 4, "'source': not valid UTF-8"}, /* cut short */
		{"\xff", 1, "'source': not valid UTF-8"},
	};
	struct fx *fx = *state;
	struct raw_opts o = {0};
	struct kx_event ev;
	struct raw r;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		o.source = cases[i].bytes;
		o.source_len = cases[i].len;
		raw_pairing(&r, &o);
		assert_int_equal(decode(fx, r.b, r.n, &ev), KX_EUTF8);
		assert_reason(fx, cases[i].reason);
	}
}

static void
test_codec__rejects_malformed_numbers_and_booleans(void **state)
{
	struct fx *fx = *state;
	struct raw_opts o = {0};
	struct kx_event ev;
	struct raw r;

	o.eu_byte = 2;
	raw_pairing(&r, &o);
	assert_int_equal(decode(fx, r.b, r.n, &ev), KX_EAVRO);
	assert_reason(fx, "'members[0].eu': boolean byte 0x02 is not 0 or 1");

	o.eu_byte = 0;
	o.offset_min = (int64_t)1 << 40;
	raw_pairing(&r, &o);
	assert_int_equal(decode(fx, r.b, r.n, &ev), KX_ERANGE);
	assert_reason(fx, "'occurred_offset_min': 1099511627776 is out of "
			  "range for an int");

	raw_header(&r, 101);
	raw_str(&r, "0b6c1a52-3e0f-4c8e-9d61-5e3f1b2a4c7d");
	raw_long(&r, 0);
	memset(r.b + r.n, 0xff, 11);
	r.n += 11;
	assert_int_equal(decode(fx, r.b, r.n, &ev), KX_EAVRO);
	assert_reason(fx, "'occurred_at': varint longer than 10 bytes");
}

static void
test_codec__rejects_array_counts_beyond_the_payload(void **state)
{
	struct fx *fx = *state;
	struct kx_event ev;
	struct raw r;

	raw_header(&r, 101);
	raw_str(&r, "0b6c1a52-3e0f-4c8e-9d61-5e3f1b2a4c7d");
	raw_long(&r, 0);
	raw_long(&r, 0);
	raw_long(&r, 0);
	raw_str(&r, "s");
	raw_str(&r, "IUC");
	raw_long(&r, 0);
	size_t at = r.n;
	raw_long(&r, 1000); /* 1000 sdgs in 3 bytes */
	raw_str(&r, "11");
	assert_int_equal(decode(fx, r.b, r.n, &ev), KX_ETRUNCATED);
	assert_reason(fx, "'sdgs': 1000 items cannot fit in the 3 bytes left");

	/* A negative block count carries a byte size; INT64_MIN is absurd. */
	r.n = at;
	raw_long(&r, INT64_MIN);
	assert_int_equal(decode(fx, r.b, r.n, &ev), KX_EAVRO);
	assert_reason(fx, "'sdgs': invalid block count");
}

/* Avro lets a writer split an array into blocks, and give a block's size
 * after a negative count; the items read the same. */
static void
test_codec__reads_arrays_written_in_blocks(void **state)
{
	struct fx *fx = *state;
	struct raw_opts o = {0};
	struct kx_event ev;
	struct raw r;

	o.sdg_blocks = true;
	raw_pairing(&r, &o);
	assert_int_equal(decode(fx, r.b, r.n, &ev), 0);
	assert_int_equal(ev.n_sdgs, 3);
	assert_string_equal(ev.sdgs[0], "11.6");
	assert_string_equal(ev.sdgs[1], "7.2.1");
	assert_string_equal(ev.sdgs[2], "13");
	assert_int_equal(ev.u.pairing.n_members, 1);
	assert_string_equal(ev.u.pairing.members[0].name, "Zürich");
}

static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void
test_codec__random_bytes_never_crash(void **state)
{
	static const int32_t ids[] = {101, 201, 301};
	struct fx *fx = *state;
	uint32_t seed = 20250314;
	struct kx_event ev;
	struct raw r;
	int ok = 0;

	for (int i = 0; i < 10000; i++) {
		size_t n = rnd(&seed) % 300;
		raw_header(&r, ids[i % 3]);
		for (size_t k = 0; k < n; k++)
			r.b[r.n++] = (uint8_t)rnd(&seed);
		int rc = decode(fx, r.b, r.n, &ev);
		if (rc == 0)
			ok++;
		else
			assert_true(rc < 0 && fx->err[0] != '\0');
		kx_arena_reset(&fx->arena);
	}
	assert_int_equal(ok, 0);
}

static void
test_codec__mutated_messages_never_crash(void **state)
{
	struct fx *fx = *state;
	uint32_t seed = 7;
	struct kx_event ev, out;
	uint8_t copy[4096];
	int ok = 0;

	for (int i = 0; i < 10000; i++) {
		enum kx_event_type t =
			(enum kx_event_type)(rnd(&seed) % KX_EVENT__COUNT);
		size_t n;

		make_event(&fx->arena, t, (int)(rnd(&seed) % 2), &ev);
		kx_buf_reset(&fx->buf);
		assert_int_equal(kx_codec_encode(fx->c, &ev, latest_id(t),
						 &fx->buf, fx->err,
						 sizeof(fx->err)),
				 0);
		n = fx->buf.len;
		assert_true(n <= sizeof(copy));
		memcpy(copy, fx->buf.data, n);
		for (int k = 1 + (int)(rnd(&seed) % 3); k > 0; k--) {
			size_t at = 5 + rnd(&seed) % (n - 5);
			copy[at] ^= (uint8_t)(1u << (rnd(&seed) % 8));
		}
		int rc = decode(fx, copy, n, &out);
		if (rc == 0)
			ok++;
		else
			assert_true(rc < 0 && fx->err[0] != '\0');
		kx_arena_reset(&fx->arena);
	}
	/* Flips inside text often still give a valid event: fine. */
	assert_true(ok < 10000);
}

static void
test_codec__allocator_refuses_huge_allocations(void **state)
{
	void *p;

	(void)state;
	kx_codec_global_init();
	kx_codec_global_init(); /* idempotent */
	assert_null(avro_malloc(2 * KX_CODEC_MAX_MESSAGE + 1));
	assert_null(avro_malloc((size_t)-4));
	p = avro_malloc(1024);
	assert_non_null(p);
	avro_free(p, 1024);
}

/* ------------------------------------------------------------------------
 * Schema evolution
 */

/* A future pairing schema: extra fields, and an extra enum symbol. */
static const char pairing_v2[] =
	"{\"type\":\"record\",\"name\":\"PairingEvent\","
	"\"namespace\":\"eu.kx.v2\",\"fields\":["
	"{\"name\":\"event_id\",\"type\":{\"type\":\"string\","
	"\"logicalType\":\"uuid\"}},"
	"{\"name\":\"event_type\",\"type\":{\"type\":\"enum\","
	"\"name\":\"PairingEventType\",\"symbols\":[\"pairing_proposed\","
	"\"pairing_matched\",\"pairing_agreement_signed\","
	"\"pairing_action_plan_adopted\",\"pairing_completed\","
	"\"pairing_suspended\",\"pairing_withdrawn\"]}},"
	"{\"name\":\"occurred_at\",\"type\":{\"type\":\"long\","
	"\"logicalType\":\"timestamp-micros\"}},"
	"{\"name\":\"occurred_offset_min\",\"type\":\"int\",\"default\":0},"
	"{\"name\":\"source\",\"type\":\"string\"},"
	"{\"name\":\"programme\",\"type\":\"string\"},"
	"{\"name\":\"geo_area\",\"type\":[\"null\",\"string\"],"
	"\"default\":null},"
	"{\"name\":\"budget_estimate\",\"type\":[\"null\",\"double\"],"
	"\"default\":null},"
	"{\"name\":\"sdgs\",\"type\":{\"type\":\"array\",\"items\":\"string\"}}"
	","
	"{\"name\":\"themes\",\"type\":{\"type\":\"array\",\"items\":"
	"\"string\"},"
	"\"default\":[]},"
	"{\"name\":\"pairing_id\",\"type\":\"string\"},"
	"{\"name\":\"cooperation_type\",\"type\":{\"type\":\"enum\","
	"\"name\":\"CooperationType\",\"symbols\":[\"bilateral\",\"trio\","
	"\"cluster\",\"cohort\",\"network\"]}},"
	"{\"name\":\"members\",\"type\":{\"type\":\"array\",\"items\":"
	"{\"type\":\"record\",\"name\":\"Party\",\"fields\":["
	"{\"name\":\"name\",\"type\":\"string\"},"
	"{\"name\":\"website\",\"type\":[\"null\",\"string\"],"
	"\"default\":null},"
	"{\"name\":\"country\",\"type\":\"string\"},"
	"{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"PartyKind\","
	"\"symbols\":[\"city\",\"region\",\"metropolitan_area\","
	"\"organisation\"]}},"
	"{\"name\":\"eu\",\"type\":\"boolean\"}]}}},"
	"{\"name\":\"report_url\",\"type\":[\"null\",\"string\"],"
	"\"default\":null},"
	"{\"name\":\"participants_by_sector\",\"type\":{\"type\":\"record\","
	"\"name\":\"SectorCounts\",\"fields\":["
	"{\"name\":\"public\",\"type\":\"int\"},"
	"{\"name\":\"private\",\"type\":\"int\"}]},"
	"\"default\":{\"public\":0,\"private\":0}},"
	"{\"name\":\"pilot_projects\",\"type\":\"int\",\"default\":0}]}";

/*
 * An older pairing schema without occurred_offset_min, geo_area, themes
 * and pilot_projects, and with PartyKind's symbols in reverse order.
 */
static const char pairing_v0[] =
	"{\"type\":\"record\",\"name\":\"PairingEvent\",\"fields\":["
	"{\"name\":\"event_id\",\"type\":\"string\"},"
	"{\"name\":\"event_type\",\"type\":{\"type\":\"enum\","
	"\"name\":\"PairingEventType\",\"symbols\":[\"pairing_matched\","
	"\"pairing_proposed\"]}},"
	"{\"name\":\"occurred_at\",\"type\":\"long\"},"
	"{\"name\":\"source\",\"type\":\"string\"},"
	"{\"name\":\"programme\",\"type\":\"string\"},"
	"{\"name\":\"sdgs\",\"type\":{\"type\":\"array\",\"items\":\"string\"}}"
	","
	"{\"name\":\"pairing_id\",\"type\":\"string\"},"
	"{\"name\":\"cooperation_type\",\"type\":{\"type\":\"enum\","
	"\"name\":\"CooperationType\",\"symbols\":[\"cohort\",\"bilateral\"]}},"
	"{\"name\":\"members\",\"type\":{\"type\":\"array\",\"items\":"
	"{\"type\":\"record\",\"name\":\"Party\",\"fields\":["
	"{\"name\":\"name\",\"type\":\"string\"},"
	"{\"name\":\"country\",\"type\":\"string\"},"
	"{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"PartyKind\","
	"\"symbols\":[\"organisation\",\"metropolitan_area\",\"region\","
	"\"city\"]}},"
	"{\"name\":\"eu\",\"type\":\"boolean\"}]}}}]}";

/* A writer value built with Avro-C directly, as another producer would. */
struct avro_msg {
	avro_schema_t schema;
	avro_value_iface_t *iface;
	avro_value_t rec;
};

static void
avro_msg_init(struct avro_msg *m, const char *avsc)
{
	assert_int_equal(
		avro_schema_from_json_length(avsc, strlen(avsc), &m->schema),
		0);
	m->iface = avro_generic_class_from_schema(m->schema);
	assert_non_null(m->iface);
	assert_int_equal(avro_generic_value_new(m->iface, &m->rec), 0);
}

static void
avro_msg_release(struct avro_msg *m)
{
	avro_value_decref(&m->rec);
	avro_value_iface_decref(m->iface);
	avro_schema_decref(m->schema);
}

static avro_value_t
field(avro_value_t *rec, const char *name)
{
	avro_value_t v = {NULL, NULL};

	if (avro_value_get_by_name(rec, name, &v, NULL))
		fail_msg("no field '%s'", name);
	return v;
}

static void
put_str(avro_value_t *rec, const char *name, const char *s)
{
	avro_value_t v = field(rec, name);

	assert_int_equal(avro_value_set_string(&v, s), 0);
}

static void
put_sym(avro_value_t *rec, const char *name, const char *sym)
{
	avro_value_t v = field(rec, name);
	int i = avro_schema_enum_get_by_name(avro_value_get_schema(&v), sym);

	assert_true(i >= 0);
	assert_int_equal(avro_value_set_enum(&v, i), 0);
}

static void
put_party(avro_value_t *arr, const char *name, const char *cc, const char *kind,
	  bool eu, bool has_website)
{
	avro_value_t p;

	assert_int_equal(avro_value_append(arr, &p, NULL), 0);
	put_str(&p, "name", name);
	put_str(&p, "country", cc);
	put_sym(&p, "kind", kind);
	avro_value_t v = field(&p, "eu");
	assert_int_equal(avro_value_set_boolean(&v, eu), 0);
	if (avro_value_get_by_name(&p, "website", &v, NULL) == 0) {
		avro_value_t b;
		assert_int_equal(avro_value_set_branch(&v, has_website, &b), 0);
		if (has_website)
			assert_int_equal(
				avro_value_set_string(&b, "https://x.eu"), 0);
		else
			assert_int_equal(avro_value_set_null(&b), 0);
	}
}

/* Frames the value with id and appends it to out. */
static void
avro_msg_frame(struct avro_msg *m, int32_t id, struct kx_buf *out)
{
	static char payload[4096];
	avro_writer_t w = avro_writer_memory(payload, sizeof(payload));
	uint8_t h[5] = {0, (uint8_t)((uint32_t)id >> 24),
			(uint8_t)((uint32_t)id >> 16),
			(uint8_t)((uint32_t)id >> 8), (uint8_t)id};

	assert_int_equal(avro_value_write(w, &m->rec), 0);
	kx_buf_reset(out);
	assert_int_equal(kx_buf_add(out, h, 5), 0);
	assert_int_equal(kx_buf_add(out, payload, (size_t)avro_writer_tell(w)),
			 0);
	avro_writer_free(w);
}

/* Fills a v2 pairing message; coop is the cooperation_type symbol. */
static void
fill_v2(struct avro_msg *m, const char *coop)
{
	avro_value_t v, b, arr;

	avro_value_reset(&m->rec);
	put_str(&m->rec, "event_id", "0b6c1a52-3e0f-4c8e-9d61-5e3f1b2a4c7d");
	put_sym(&m->rec, "event_type", "pairing_matched");
	v = field(&m->rec, "occurred_at");
	avro_value_set_long(&v, 1741941000000000LL);
	v = field(&m->rec, "occurred_offset_min");
	avro_value_set_int(&v, 60);
	put_str(&m->rec, "source", "partner.crm");
	put_str(&m->rec, "programme", "IURC");
	v = field(&m->rec, "geo_area");
	avro_value_set_branch(&v, 1, &b);
	avro_value_set_string(&b, "LAC");
	v = field(&m->rec, "budget_estimate");
	avro_value_set_branch(&v, 1, &b);
	avro_value_set_double(&b, 125000.5);
	arr = field(&m->rec, "sdgs");
	avro_value_append(&arr, &v, NULL);
	avro_value_set_string(&v, "11.6");
	put_str(&m->rec, "pairing_id", "P-7");
	put_sym(&m->rec, "cooperation_type", coop);
	arr = field(&m->rec, "members");
	put_party(&arr, "Київ", "UA", "city", false, true);
	put_party(&arr, "Lyon", "FR", "metropolitan_area", true, false);
	v = field(&m->rec, "report_url");
	avro_value_set_branch(&v, 1, &b);
	avro_value_set_string(&b, "https://example.org/report.pdf");
	v = field(&m->rec, "participants_by_sector");
	avro_value_t pub = field(&v, "public"), priv = field(&v, "private");
	avro_value_set_int(&pub, 12);
	avro_value_set_int(&priv, 30);
	v = field(&m->rec, "pilot_projects");
	avro_value_set_int(&v, 3);
}

static void
test_codec__newer_writer_with_extra_fields_decodes(void **state)
{
	struct fx *fx = *state;
	struct avro_msg m;
	struct kx_event ev;

	assert_int_equal(kx_codec_add_schema(fx->c, 9101, KX_FAMILY_PAIRING,
					     pairing_v2, fx->err,
					     sizeof(fx->err)),
			 0);
	avro_msg_init(&m, pairing_v2);
	fill_v2(&m, "cluster");
	avro_msg_frame(&m, 9101, &fx->buf);
	assert_int_equal(decode(fx, fx->buf.data, fx->buf.len, &ev), 0);
	assert_int_equal(ev.type, KX_EVENT_PAIRING_MATCHED);
	assert_int_equal(ev.occurred_offset, 60);
	assert_string_equal(ev.geo_area, "LAC");
	assert_int_equal(ev.programme, KX_PROGRAMME_IURC);
	assert_int_equal(ev.n_sdgs, 1);
	assert_string_equal(ev.sdgs[0], "11.6");
	assert_int_equal(ev.n_themes, 0);
	assert_string_equal(ev.u.pairing.pairing_id, "P-7");
	assert_int_equal(ev.u.pairing.cooperation_type, KX_COOP_CLUSTER);
	assert_int_equal(ev.u.pairing.n_members, 2);
	assert_string_equal(ev.u.pairing.members[0].name, "Київ");
	assert_string_equal(ev.u.pairing.members[0].country, "UA");
	assert_int_equal(ev.u.pairing.members[1].kind,
			 KX_PARTY_METROPOLITAN_AREA);
	assert_true(ev.u.pairing.members[1].eu);
	assert_int_equal(ev.u.pairing.pilot_projects, 3);

	/* The new symbol is unknown to this reader, which has no default. */
	fill_v2(&m, "network");
	avro_msg_frame(&m, 9101, &fx->buf);
	assert_int_equal(decode(fx, fx->buf.data, fx->buf.len, &ev),
			 KX_EINVALID_EVENT);
	assert_reason(fx, "'cooperation_type': unknown symbol 'network'");
	avro_msg_release(&m);
}

/*
 * Registers id as pairing_v2 with the fields of extra (JSON, each after a
 * comma) added at its end, and starts m on that schema, filled by
 * fill_v2().
 */
static void
add_v2_with(struct fx *fx, int32_t id, const char *extra, struct avro_msg *m)
{
	struct kx_buf schema = KX_BUF_INIT;

	/* pairing_v2 ends in "]}". */
	kx_buf_add(&schema, pairing_v2, sizeof(pairing_v2) - 3);
	kx_buf_adds(&schema, extra);
	kx_buf_adds(&schema, "]}");
	assert_int_equal(kx_codec_add_schema(fx->c, id, KX_FAMILY_PAIRING,
					     schema.data, fx->err,
					     sizeof(fx->err)),
			 0);
	avro_msg_init(m, schema.data);
	fill_v2(m, "cluster");
	kx_buf_release(&schema);
}

/* A writer record of more fields than the decoder finds on its stack (64)
 * decodes the same, the extra ones skipped. */
static void
test_codec__writer_with_many_fields_decodes(void **state)
{
	struct fx *fx = *state;
	struct kx_buf extra = KX_BUF_INIT;
	struct avro_msg m;
	struct kx_event ev;
	avro_value_t v;

	/* 80 longs and strings. */
	for (int i = 0; i < 40; i++)
		kx_buf_addf(&extra,
			    ",{\"name\":\"n%d\",\"type\":\"long\"},"
			    "{\"name\":\"s%d\",\"type\":\"string\"}",
			    i, i);
	add_v2_with(fx, 9106, extra.data, &m);
	kx_buf_release(&extra);
	for (int i = 0; i < 40; i++) {
		char name[8];
		snprintf(name, sizeof(name), "n%d", i);
		v = field(&m.rec, name);
		avro_value_set_long(&v, (int64_t)i << 40);
		snprintf(name, sizeof(name), "s%d", i);
		v = field(&m.rec, name);
		avro_value_set_string(&v, "Ελλάδα");
	}
	avro_msg_frame(&m, 9106, &fx->buf);
	assert_int_equal(decode(fx, fx->buf.data, fx->buf.len, &ev), 0);
	assert_int_equal(ev.u.pairing.cooperation_type, KX_COOP_CLUSTER);
	assert_int_equal(ev.u.pairing.n_members, 2);
	assert_string_equal(ev.u.pairing.members[0].name, "Київ");
	assert_int_equal(ev.u.pairing.pilot_projects, 3);
	avro_msg_release(&m);
}

/* A registry schema may be recursive: a record reached through a union
 * of itself, nested as deep as the walk allows, is skipped whole. */
static void
test_codec__writer_with_a_recursive_record_decodes(void **state)
{
	struct fx *fx = *state;
	struct avro_msg m;
	struct kx_event ev;
	avro_value_t v, next, node;

	add_v2_with(fx, 9107,
		    ",{\"name\":\"tree\",\"type\":{\"type\":\"record\","
		    "\"name\":\"Node\",\"fields\":[{\"name\":\"next\","
		    "\"type\":[\"null\",\"Node\"],\"default\":null}]}}",
		    &m);
	/* 25 nodes: the walk counts 26 levels with the event, under 32. */
	v = field(&m.rec, "tree");
	for (int i = 0; i < 24; i++) {
		assert_int_equal(avro_value_get_by_name(&v, "next", &next, NULL),
				 0);
		assert_int_equal(avro_value_set_branch(&next, 1, &node), 0);
		v = node;
	}
	assert_int_equal(avro_value_get_by_name(&v, "next", &next, NULL), 0);
	assert_int_equal(avro_value_set_branch(&next, 0, &node), 0);
	avro_msg_frame(&m, 9107, &fx->buf);
	assert_int_equal(decode(fx, fx->buf.data, fx->buf.len, &ev), 0);
	assert_int_equal(ev.u.pairing.n_members, 2);
	assert_int_equal(ev.u.pairing.pilot_projects, 3);
	avro_msg_release(&m);
}

static void
test_codec__reader_enum_default_takes_unknown_symbols(void **state)
{
	struct fx *fx = *state;
	struct avro_msg m;
	struct kx_event ev;
	char *reader;
	const char *v1 = kx_schema_by_id(101)->avsc;
	const char *at;

	/* v1 with an Avro 1.9 enum default on CooperationType. */
	at = strstr(v1, "\"cohort\"]");
	assert_non_null(at);
	at += strlen("\"cohort\"]");
	reader = malloc(strlen(v1) + 64);
	sprintf(reader, "%.*s, \"default\": \"cluster\"%s", (int)(at - v1), v1,
		at);
	assert_int_equal(kx__codec_set_reader(fx->c, KX_FAMILY_PAIRING, reader,
					      fx->err, sizeof(fx->err)),
			 0);
	free(reader);
	assert_int_equal(kx_codec_add_schema(fx->c, 9101, KX_FAMILY_PAIRING,
					     pairing_v2, fx->err,
					     sizeof(fx->err)),
			 0);
	avro_msg_init(&m, pairing_v2);
	fill_v2(&m, "network");
	avro_msg_frame(&m, 9101, &fx->buf);
	avro_msg_release(&m);
	assert_int_equal(decode(fx, fx->buf.data, fx->buf.len, &ev), 0);
	assert_int_equal(ev.u.pairing.cooperation_type, KX_COOP_CLUSTER);
}

static void
test_codec__older_writer_takes_reader_defaults(void **state)
{
	struct fx *fx = *state;
	struct avro_msg m;
	struct kx_event ev;
	avro_value_t v, arr;

	assert_int_equal(kx_codec_add_schema(fx->c, 9102, KX_FAMILY_PAIRING,
					     pairing_v0, fx->err,
					     sizeof(fx->err)),
			 0);
	avro_msg_init(&m, pairing_v0);
	put_str(&m.rec, "event_id", "0b6c1a52-3e0f-4c8e-9d61-5e3f1b2a4c7d");
	put_sym(&m.rec, "event_type", "pairing_proposed");
	v = field(&m.rec, "occurred_at");
	avro_value_set_long(&v, 1741941000000000LL);
	put_str(&m.rec, "source", "old.crm");
	put_str(&m.rec, "programme", "IUC");
	arr = field(&m.rec, "sdgs");
	avro_value_append(&arr, &v, NULL);
	avro_value_set_string(&v, "7");
	put_str(&m.rec, "pairing_id", "P-0");
	put_sym(&m.rec, "cooperation_type", "bilateral");
	arr = field(&m.rec, "members");
	put_party(&arr, "北京", "CN", "region", false, false);
	avro_msg_frame(&m, 9102, &fx->buf);
	avro_msg_release(&m);

	assert_int_equal(decode(fx, fx->buf.data, fx->buf.len, &ev), 0);
	/* Enums go by symbol, whatever the writer's order. */
	assert_int_equal(ev.type, KX_EVENT_PAIRING_PROPOSED);
	assert_int_equal(ev.u.pairing.cooperation_type, KX_COOP_BILATERAL);
	assert_int_equal(ev.u.pairing.members[0].kind, KX_PARTY_REGION);
	/* Fields the writer lacks take the v1 reader's defaults. */
	assert_int_equal(ev.occurred_offset, 0);
	assert_null(ev.geo_area);
	assert_int_equal(ev.n_themes, 0);
	assert_int_equal(ev.u.pairing.pilot_projects, 0);

	/* The defaults come from the reader's schema text. */
	const char *v1 = kx_schema_by_id(101)->avsc;
	const char *at = strstr(v1, "\"pilot_projects\", \"type\": \"int\", "
				    "\"default\": 0");
	assert_non_null(at);
	char *reader = strdup(v1);
	memcpy(reader + (at - v1) +
		       strlen("\"pilot_projects\", \"type\": \"int\", "
			      "\"default\": "),
	       "7", 1);
	assert_int_equal(kx__codec_set_reader(fx->c, KX_FAMILY_PAIRING, reader,
					      fx->err, sizeof(fx->err)),
			 0);
	free(reader);
	assert_int_equal(decode(fx, fx->buf.data, fx->buf.len, &ev), 0);
	assert_int_equal(ev.u.pairing.pilot_projects, 7);
}

static void
test_codec__v1_messages_decode_under_a_newer_reader(void **state)
{
	struct fx *fx = *state;
	struct kx_event ev, out;

	assert_int_equal(kx__codec_set_reader(fx->c, KX_FAMILY_PAIRING,
					      pairing_v2, fx->err,
					      sizeof(fx->err)),
			 0);
	for (int variant = 0; variant < 2; variant++) {
		make_event(&fx->arena, KX_EVENT_PAIRING_SUSPENDED, variant,
			   &ev);
		assert_int_equal(round_trip(fx, &ev, &out), 0);
		/* This reader lacks budget_eur: it reads as absent. */
		ev.u.pairing.budget_eur = -1;
		assert_true(kx_event_equal(&ev, &out));
	}
}

static void
test_codec__encode_with_a_newer_schema_writes_its_defaults(void **state)
{
	struct fx *fx = *state;
	struct kx_event ev, out;
	struct avro_msg m;
	avro_reader_t r;
	avro_value_t v;
	int branch = -1;

	assert_int_equal(kx_codec_add_schema(fx->c, 9101, KX_FAMILY_PAIRING,
					     pairing_v2, fx->err,
					     sizeof(fx->err)),
			 0);
	make_event(&fx->arena, KX_EVENT_PAIRING_AGREEMENT_SIGNED, 0, &ev);
	ev.u.pairing.budget_eur = -1; /* schema 9101 cannot carry it */
	kx_buf_reset(&fx->buf);
	assert_int_equal(kx_codec_encode(fx->c, &ev, 9101, &fx->buf, fx->err,
					 sizeof(fx->err)),
			 0);
	assert_int_equal(decode(fx, fx->buf.data, fx->buf.len, &out), 0);
	assert_true(kx_event_equal(&ev, &out));

	/* Another Avro reader sees the v2 defaults in the extra fields. */
	avro_msg_init(&m, pairing_v2);
	r = avro_reader_memory(fx->buf.data + 5, (int64_t)fx->buf.len - 5);
	assert_int_equal(avro_value_read(r, &m.rec), 0);
	v = field(&m.rec, "budget_estimate");
	avro_value_get_discriminant(&v, &branch);
	assert_int_equal(branch, 0);
	v = field(&m.rec, "participants_by_sector");
	avro_value_t pub = field(&v, "public");
	int32_t n = -1;
	avro_value_get_int(&pub, &n);
	assert_int_equal(n, 0);
	avro_reader_free(r);
	avro_msg_release(&m);
}

static void
test_codec__add_schema_rejects_incompatible_writers(void **state)
{
	struct fx *fx = *state;
	char *bad = strdup(kx_schema_by_id(101)->avsc);
	char *at =
		strstr(bad, "{\"name\": \"pairing_id\", \"type\": \"string\"}");

	assert_non_null(at);
	memcpy(strstr(at, "\"string\""), "\"long\"  ", 8);
	assert_int_equal(kx_codec_add_schema(fx->c, 9103, KX_FAMILY_PAIRING,
					     bad, fx->err, sizeof(fx->err)),
			 KX_ESCHEMA);
	assert_reason(fx, "'pairing_id': writer type long does not read as "
			  "string");
	free(bad);

	assert_int_equal(kx_codec_add_schema(fx->c, 9104, KX_FAMILY_PAIRING,
					     "{\"type\":\"record\",\"name\":"
					     "\"PairingEvent\",\"fields\":[]}",
					     fx->err, sizeof(fx->err)),
			 KX_ESCHEMA);
	assert_reason(fx, "'event_id' is missing from the writer schema");

	assert_int_equal(kx_codec_add_schema(fx->c, 9105, KX_FAMILY_PAIRING,
					     "{\"type\":", fx->err,
					     sizeof(fx->err)),
			 KX_ESCHEMA);
	assert_reason(fx, "schema 9105: invalid schema JSON");
}

/* ------------------------------------------------------------------------
 * Registry ids through the resolver
 */

struct resolver_state {
	int calls;
	int rc;
};

static int
resolve(void *opaque, int32_t id, char **avsc, char *errbuf, size_t errlen)
{
	struct resolver_state *rs = opaque;

	rs->calls++;
	if (rs->rc) {
		snprintf(errbuf, errlen, "registry unreachable");
		return rs->rc;
	}
	(void)id;
	*avsc = strdup(kx_schema_by_id(202)->avsc);
	return 0;
}

static void
test_codec__resolver_supplies_and_caches_registry_ids(void **state)
{
	struct fx *fx = *state;
	struct resolver_state rs = {0, 0};
	struct kx_event ev, out;

	kx_codec_set_resolver(fx->c, resolve, &rs);
	make_event(&fx->arena, KX_EVENT_VISIT_HELD, 0, &ev);
	assert_int_equal(kx_codec_encode(fx->c, &ev, 202, &fx->buf, fx->err,
					 sizeof(fx->err)),
			 0);
	fx->buf.data[4] = 7; /* schema id 7, a registry id */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(decode(fx, fx->buf.data, fx->buf.len, &out),
				 0);
		assert_true(kx_event_equal(&ev, &out));
	}
	assert_int_equal(rs.calls, 1);

	rs.rc = KX_EHTTP;
	fx->buf.data[4] = 8;
	assert_int_equal(decode(fx, fx->buf.data, fx->buf.len, &out), KX_EHTTP);
	assert_reason(fx, "unknown schema id 8: registry unreachable");
}

/* ------------------------------------------------------------------------
 * Contract rules after decoding
 *
 * VALIDATION-DEPENDENT: this test passes only once core/src/validate.c
 * implements kx_event_validate(); with the placeholder it fails.
 */

static void
test_codec__valid_avro_breaking_a_contract_rule_is_rejected(void **state)
{
	static const char *goal18[] = {"18"};
	struct fx *fx = *state;
	struct kx_event ev, out;

	make_event(&fx->arena, KX_EVENT_PAIRING_MATCHED, 0, &ev);
	ev.sdgs = goal18;
	ev.n_sdgs = 1;
	assert_int_equal(kx_codec_encode(fx->c, &ev, 101, &fx->buf, fx->err,
					 sizeof(fx->err)),
			 0);
	assert_int_equal(decode(fx, fx->buf.data, fx->buf.len, &out),
			 KX_EINVALID_EVENT);
	assert_reason(fx, "'sdgs[0]'");
}

static void
test_codec__free_null_does_nothing(void **state)
{
	(void)state;
	kx_codec_free(NULL);
}

/* ------------------------------------------------------------------------
 * Throughput (not a test)
 */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
bench(void)
{
	struct fx *fx = NULL;
	struct kx_event ev, out;
	const int n = 1000000;
	double t0, t1, t2, td, tg;
	size_t len;
	char *copy;

	if (setup((void **)&fx))
		return 1;
	make_event(&fx->arena, KX_EVENT_PAIRING_MATCHED, 0, &ev);
	kx_buf_reset(&fx->buf);
	kx_codec_encode(fx->c, &ev, 101, &fx->buf, fx->err, sizeof(fx->err));
	len = fx->buf.len;
	copy = malloc(len);
	memcpy(copy, fx->buf.data, len);

	t0 = now();
	for (int i = 0; i < n; i++) {
		kx_buf_reset(&fx->buf);
		if (kx_codec_encode(fx->c, &ev, 101, &fx->buf, fx->err,
				    sizeof(fx->err)))
			return 1;
	}
	td = now() - t0;
	t1 = now();
	for (int i = 0; i < n; i++) {
		kx_buf_reset(&fx->buf);
		if (kx__codec_encode_generic(fx->c, &ev, 101, &fx->buf,
					     fx->err, sizeof(fx->err)))
			return 1;
	}
	tg = now() - t1;
	t1 = now();
	for (int i = 0; i < n; i++) {
		if (decode(fx, copy, len, &out))
			return 1;
		kx_arena_reset(&fx->arena);
	}
	t2 = now();
	printf("event: pairing.matched, %zu bytes framed, 3 members, "
	       "3 sdgs, 2 themes\n",
	       len);
	printf("encode: %.0f events/s (%.2f us/event)\n", n / td,
	       td * 1e6 / n);
	printf("encode (reference, Avro-C generic value): %.0f events/s "
	       "(%.2f us/event)\n",
	       n / tg, tg * 1e6 / n);
	printf("decode: %.0f events/s (%.2f us/event, validation included)\n",
	       n / (t2 - t1), (t2 - t1) * 1e6 / n);
	free(copy);
	teardown((void **)&fx);
	return 0;
}

/*
 * The partner's JSON line, through the struct and Avro, back to an equal
 * struct: every event type of tests/data/json/events.jsonl, with party
 * names in several scripts.
 */
static void
test_codec__json_to_avro_and_back_for_every_fixture(void **state)
{
	char errbuf[512], *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;
	bool seen[KX_EVENT__COUNT] = {false};
	struct kx_arena arena;
	struct kx_buf buf = KX_BUF_INIT;
	struct kx_codec *c = kx_codec_new(errbuf, sizeof(errbuf));
	FILE *fp = fopen(KX_TEST_DATA "/json/events.jsonl", "r");

	(void)state;
	assert_non_null(c);
	assert_non_null(fp);
	kx_arena_init(&arena);
	while ((len = getline(&line, &cap, fp)) > 0) {
		struct kx_event in, out;
		enum kx_family f;
		int32_t id = 0;

		if (line[len - 1] == '\n')
			line[--len] = '\0';
		kx_arena_reset(&arena);
		assert_int_equal(kx_event_parse_line(line, (size_t)len, &arena,
						     &in, errbuf, sizeof(errbuf)),
				 0);
		f = kx_event_type_family(in.type);
		kx_buf_reset(&buf);
		assert_int_equal(kx_codec_encode(c, &in, kx_schema_latest(f)->id,
						 &buf, errbuf, sizeof(errbuf)),
				 0);
		assert_int_equal(kx_codec_decode(c, buf.data, buf.len, &arena,
						 &out, &id, errbuf,
						 sizeof(errbuf)),
				 0);
		assert_int_equal(id, kx_schema_latest(f)->id);
		assert_true(kx_event_equal(&in, &out));
		seen[in.type] = true;
		n++;
	}
	for (int t = 0; t < KX_EVENT__COUNT; t++)
		assert_true(seen[t]);
	assert_true(n >= KX_EVENT__COUNT);
	free(line);
	fclose(fp);
	kx_buf_release(&buf);
	kx_arena_release(&arena);
	kx_codec_free(c);
}

/* ------------------------------------------------------------------------
 * Schema versions: v1 and v2 of every family, read both ways
 */

/* ev as a reader without the v2 fields sees it. */
static void
strip_v2(struct kx_event *ev)
{
	switch (kx_event_type_family(ev->type)) {
	case KX_FAMILY_PAIRING:
		ev->u.pairing.budget_eur = -1;
		break;
	case KX_FAMILY_VISIT:
		ev->u.visit.report_url = NULL;
		memset(&ev->u.visit.by_sector, 0, sizeof(ev->u.visit.by_sector));
		ev->u.visit.follow_up = KX_FOLLOW_UP_NONE;
		break;
	default:
		if (ev->type == KX_EVENT_PRACTICE_DOCUMENTED)
			ev->u.practice.url = NULL;
		break;
	}
}

static void
test_codec__v1_reader_skips_the_v2_fields(void **state)
{
	struct fx *fx = *state;
	struct kx_event ev, out;

	/* A consumer built with the v1 schemas only. */
	for (int f = 0; f < KX_FAMILY__COUNT; f++)
		assert_int_equal(
			kx__codec_set_reader(
				fx->c, (enum kx_family)f,
				kx_schema_by_id((f + 1) * 100 + 1)->avsc,
				fx->err, sizeof(fx->err)),
			0);
	for (int t = 0; t < KX_EVENT__COUNT; t++) {
		make_event(&fx->arena, (enum kx_event_type)t, 0, &ev);
		/* Written with v2, every v2 field set. */
		assert_int_equal(round_trip(fx, &ev, &out), 0);
		strip_v2(&ev);
		if (!kx_event_equal(&ev, &out))
			fail_msg("%s: the v1 reader read another event",
				 kx_event_type_name((enum kx_event_type)t));
	}
}

static void
test_codec__v2_reader_gives_v1_messages_the_defaults(void **state)
{
	struct fx *fx = *state;
	struct kx_event ev, out;
	int32_t id;

	for (int t = 0; t < KX_EVENT__COUNT; t++) {
		make_event(&fx->arena, (enum kx_event_type)t, 0, &ev);
		kx_buf_reset(&fx->buf);
		id = (int32_t)(kx_event_type_family((enum kx_event_type)t) + 1) *
			     100 +
		     1;
		/* v1 cannot carry the v2 fields: they are not written. */
		assert_int_equal(kx_codec_encode(fx->c, &ev, id, &fx->buf,
						 fx->err, sizeof(fx->err)),
				 0);
		assert_int_equal(decode(fx, fx->buf.data, fx->buf.len, &out),
				 0);
		strip_v2(&ev);
		if (!kx_event_equal(&ev, &out))
			fail_msg("%s: v1 bytes read as another event",
				 kx_event_type_name((enum kx_event_type)t));
	}
	/* The v2 reader's defaults: budget absent, follow_up none. */
	make_event(&fx->arena, KX_EVENT_VISIT_HELD, 0, &ev);
	kx_buf_reset(&fx->buf);
	assert_int_equal(kx_codec_encode(fx->c, &ev, 201, &fx->buf, fx->err,
					 sizeof(fx->err)),
			 0);
	assert_int_equal(decode(fx, fx->buf.data, fx->buf.len, &out), 0);
	assert_int_equal(out.u.visit.follow_up, KX_FOLLOW_UP_NONE);
	assert_false(out.u.visit.by_sector.present);
	assert_null(out.u.visit.report_url);
}

static void
test_codec__v2_enum_default_reads_a_later_symbol_as_none(void **state)
{
	struct fx *fx = *state;
	const char *v2 = kx_schema_by_id(202)->avsc;
	const char *sym = "\"replication\"]";
	const char *at = strstr(v2, sym);
	char *v3 = malloc(strlen(v2) + 64);
	struct avro_msg m;
	struct kx_event ev, out;

	/* A later visit schema with a new follow_up symbol. */
	assert_non_null(at);
	at += strlen(sym) - 1;
	sprintf(v3, "%.*s, \"peer_review\"%s", (int)(at - v2), v2, at);
	assert_int_equal(kx_codec_add_schema(fx->c, 9203, KX_FAMILY_VISIT, v3,
					     fx->err, sizeof(fx->err)),
			 0);
	/* KX writes with v3 (it cannot write peer_review), then flip it. */
	make_event(&fx->arena, KX_EVENT_VISIT_HELD, 0, &ev);
	kx_buf_reset(&fx->buf);
	assert_int_equal(kx_codec_encode(fx->c, &ev, 9203, &fx->buf, fx->err,
					 sizeof(fx->err)),
			 0);
	avro_msg_init(&m, v3);
	{
		avro_reader_t r = avro_reader_memory(fx->buf.data + 5,
						     (int64_t)fx->buf.len - 5);
		assert_int_equal(avro_value_read(r, &m.rec), 0);
		avro_reader_free(r);
	}
	put_sym(&m.rec, "follow_up", "peer_review");
	avro_msg_frame(&m, 9203, &fx->buf);
	assert_int_equal(decode(fx, fx->buf.data, fx->buf.len, &out), 0);
	assert_int_equal(out.u.visit.follow_up, KX_FOLLOW_UP_NONE);
	out.u.visit.follow_up = ev.u.visit.follow_up;
	assert_true(kx_event_equal(&ev, &out));
	avro_msg_release(&m);
	free(v3);
}

/* ------------------------------------------------------------------------
 * The direct encoder against the reference (Avro-C's generic values)
 */

/* xorshift64: a fixed seed gives the same events on every run. */
static uint64_t
rnd64(uint64_t *st)
{
	*st ^= *st << 13;
	*st ^= *st >> 7;
	*st ^= *st << 17;
	return *st;
}

static int
pick(uint64_t *st, int n)
{
	return (int)(rnd64(st) % (uint64_t)n);
}

/* Longer than 127 bytes, so its length takes two varint bytes. */
static const char long_text[] =
	"Association of Cities and Regions for Sustainable Resource "
	"Management in the Mediterranean, the Adriatic and the Black Sea";

static const char *const text_pool[] = {
	"", "a", "partner.crm-1", "Київ", "北京 — São Paulo", "IURC-LAC-2025-007",
	"https://iurc.eu/visits/zürich-2025.pdf", long_text,
};

static const char *const source_pool[] = {"kx", "partner.crm-1",
					  "a_b-c.d"};
static const char *const geo_pool[] = {"LAC", "EU", "ASIA-2"};
static const char *const sdg_pool[] = {"1", "11", "11.6", "7.a.1", "13.2",
				       "17.17"};
static const char *const theme_pool[] = {"circular-economy", "urban-mobility",
					 "green-deal", "x"};

static const char *
rtext(uint64_t *st)
{
	return text_pool[pick(st, (int)N_ELEMS(text_pool))];
}

/* A value that is absent (-1) a third of the time. */
static int32_t
rint_or_absent(uint64_t *st, int32_t max)
{
	return pick(st, 3) == 0 ? -1 : pick(st, max + 1);
}

static void
rparty(uint64_t *st, struct kx_party *p)
{
	*p = world[pick(st, (int)N_ELEMS(world))];
	p->kind = (enum kx_party_kind)pick(st, KX_PARTY__COUNT);
	p->eu = pick(st, 2);
	if (pick(st, 4) == 0)
		p->name = rtext(st);
}

static const char **
rstrings(struct kx_arena *a, uint64_t *st, const char *const *pool,
	 size_t n_pool, size_t n)
{
	const char **v = kx_arena_calloc(a, n ? n : 1, sizeof(*v));

	for (size_t i = 0; i < n; i++)
		v[i] = pool[rnd64(st) % n_pool];
	return v;
}

/*
 * A random event of the given type: make_event's full or bare variant with
 * each optional field present or absent on its own, numbers anywhere in
 * their range, and rarely a value no schema can hold (an error both
 * encoders must report the same way).
 */
static void
random_event(struct kx_arena *a, uint64_t *st, enum kx_event_type type,
	     struct kx_event *ev)
{
	struct kx_party *ps = kx_arena_calloc(a, 6, sizeof(*ps));
	bool odd = pick(st, 40) == 0;
	size_t n;

	make_event(a, type, pick(st, 2), ev);
	for (int i = 0; i < 6; i++)
		rparty(st, &ps[i]);
	/* Mostly what the contract allows, sometimes anything. */
	ev->occurred_at = pick(st, 4) ? ev->occurred_at + pick(st, 1 << 30) *
								  1000003LL
				      : (int64_t)rnd64(st) >> pick(st, 64);
	ev->occurred_offset = pick(st, 1561) - 720;
	ev->source = pick(st, 4) ? source_pool[pick(st, 3)] : rtext(st);
	ev->programme = (enum kx_programme)pick(st, KX_PROGRAMME__COUNT);
	ev->geo_area = pick(st, 2)   ? NULL
		       : pick(st, 4) ? geo_pool[pick(st, 3)]
				     : rtext(st);
	n = (size_t)pick(st, 4);
	ev->sdgs = rstrings(a, st, sdg_pool, N_ELEMS(sdg_pool), n ? n : 1);
	ev->n_sdgs = n ? n : 1;
	ev->n_themes = (size_t)pick(st, 4);
	ev->themes = ev->n_themes ? rstrings(a, st, theme_pool,
					     N_ELEMS(theme_pool), ev->n_themes)
				  : NULL;

	switch (kx_event_type_family(type)) {
	case KX_FAMILY_PAIRING:
		ev->u.pairing.cooperation_type =
			(enum kx_cooperation_type)pick(st, KX_COOP__COUNT);
		ev->u.pairing.members = ps;
		ev->u.pairing.n_members = (size_t)pick(st, 7);
		ev->u.pairing.pilot_projects = pick(st, 100);
		ev->u.pairing.budget_eur = pick(st, 3) == 0 ? -1
					   : pick(st, 4) ? pick(st, 1 << 30)
							 : (int64_t)(rnd64(st) >> 20);
		break;
	case KX_FAMILY_VISIT:
		ev->u.visit.pairing_id = pick(st, 2) ? rtext(st) : NULL;
		ev->u.visit.visit_type =
			(enum kx_visit_type)pick(st, KX_VISIT__COUNT);
		ev->u.visit.format =
			(enum kx_visit_format)pick(st, KX_FORMAT__COUNT);
		ev->u.visit.host = ps[0];
		ev->u.visit.visitors = ps + 1;
		ev->u.visit.n_visitors = (size_t)pick(st, 6);
		ev->u.visit.participants = rint_or_absent(st, 100000);
		ev->u.visit.report_url = pick(st, 2) ? rtext(st) : NULL;
		ev->u.visit.by_sector =
			(struct kx_sectors){pick(st, 2) == 0, pick(st, 50),
					    pick(st, 50), pick(st, 50),
					    pick(st, 50)};
		ev->u.visit.follow_up =
			(enum kx_follow_up)pick(st, KX_FOLLOW_UP__COUNT);
		break;
	case KX_FAMILY_PRACTICE:
		if (type == KX_EVENT_PRACTICE_DOCUMENTED) {
			ev->u.practice.title = rtext(st);
			ev->u.practice.origin = ps[2];
			ev->u.practice.product_type =
				(enum kx_product_type)pick(st,
							   KX_PRODUCT__COUNT);
			ev->u.practice.url = pick(st, 2) ? rtext(st) : NULL;
		} else {
			ev->u.transfer.adopter = ps[3];
		}
		break;
	default:
		break;
	}
	if (!odd)
		return;
	switch (pick(st, 5)) {
	case 0:
		ev->source = NULL; /* required */
		break;
	case 1:
		ev->programme = KX_PROGRAMME__COUNT; /* out of range */
		break;
	case 2:
		ev->occurred_offset = -1; /* fine: only an odd value */
		break;
	case 3:
		if (kx_event_type_family(type) == KX_FAMILY_PAIRING)
			ev->u.pairing.cooperation_type = KX_COOP__COUNT;
		else if (kx_event_type_family(type) == KX_FAMILY_VISIT)
			ev->u.visit.host.name = NULL; /* required */
		else if (type == KX_EVENT_PRACTICE_DOCUMENTED)
			ev->u.practice.title = NULL; /* required */
		break;
	default:
		memset(ev->event_id, 'a', sizeof(ev->event_id)); /* no NUL */
		break;
	}
}

/*
 * Encodes ev with id through both encoders: the same code, the same
 * reason, and byte for byte the same message. Returns the code.
 */
static int
encode_both(struct fx *fx, const struct kx_event *ev, int32_t id,
	    struct kx_buf *ref)
{
	char err_ref[512] = "";
	int rc, rc_ref;

	/* Both append after the same prefix, as the producer's batches do. */
	kx_buf_reset(&fx->buf);
	kx_buf_reset(ref);
	assert_int_equal(kx_buf_adds(&fx->buf, "prefix"), 0);
	assert_int_equal(kx_buf_adds(ref, "prefix"), 0);
	fx->err[0] = '\0';
	rc = kx_codec_encode(fx->c, ev, id, &fx->buf, fx->err, sizeof(fx->err));
	rc_ref = kx__codec_encode_generic(fx->c, ev, id, ref, err_ref,
					  sizeof(err_ref));
	if (rc != rc_ref || strcmp(fx->err, err_ref) != 0)
		fail_msg("%s with schema %d: direct %d '%s', reference %d "
			 "'%s'",
			 kx_event_type_name(ev->type), (int)id, rc, fx->err,
			 rc_ref, err_ref);
	assert_int_equal(fx->buf.len, ref->len);
	if (memcmp(fx->buf.data, ref->data, ref->len + 1) != 0)
		fail_msg("%s with schema %d: the bytes differ",
			 kx_event_type_name(ev->type), (int)id);
	return rc;
}

/* The ids to encode a family with: its catalogue schemas and one extra. */
static size_t
family_ids(enum kx_family family, int32_t *ids, size_t max)
{
	size_t n_cat, n = 0;
	const struct kx_schema_entry *cat = kx_schema_catalogue(&n_cat);

	for (size_t i = 0; i < n_cat && n < max; i++)
		if (cat[i].family == family)
			ids[n++] = cat[i].id;
	/* A registry schema with fields KX lacks, one of them in Party. */
	if (family == KX_FAMILY_PAIRING && n < max)
		ids[n++] = 9101;
	return n;
}

static void
test_codec__direct_encoder_matches_the_reference_on_every_schema(void **state)
{
	struct fx *fx = *state;
	struct kx_buf ref = KX_BUF_INIT;
	struct kx_event ev;
	int32_t ids[8];
	bool v1_seen = false, v2_seen = false;

	assert_int_equal(kx_codec_add_schema(fx->c, 9101, KX_FAMILY_PAIRING,
					     pairing_v2, fx->err,
					     sizeof(fx->err)),
			 0);
	for (int t = 0; t < KX_EVENT__COUNT; t++) {
		enum kx_family family =
			kx_event_type_family((enum kx_event_type)t);
		size_t n = family_ids(family, ids, N_ELEMS(ids));

		for (int variant = 0; variant < 2; variant++) {
			make_event(&fx->arena, (enum kx_event_type)t, variant,
				   &ev);
			for (size_t i = 0; i < n; i++) {
				assert_int_equal(encode_both(fx, &ev, ids[i],
							     &ref),
						 0);
				v1_seen |= kx_schema_by_id(ids[i]) &&
					   kx_schema_by_id(ids[i])->version ==
						   1;
				v2_seen |= kx_schema_by_id(ids[i]) &&
					   kx_schema_by_id(ids[i])->version ==
						   2;
			}
		}
	}
	assert_true(v1_seen && v2_seen);
	kx_buf_release(&ref);
}

/*
 * Random events of every type through every schema: the two encoders
 * agree on each, and a valid event decodes back from the direct encoder's
 * bytes to an equal event with its family's newest schema.
 */
static void
test_codec__direct_encoder_matches_the_reference_on_random_events(void **state)
{
	struct fx *fx = *state;
	struct kx_buf ref = KX_BUF_INIT;
	struct kx_event ev, out;
	uint64_t st = 0x9e3779b97f4a7c15ULL;
	int32_t ids[8];
	int n_ok = 0, n_failed = 0, n_back = 0;
	char why[256];

	assert_int_equal(kx_codec_add_schema(fx->c, 9101, KX_FAMILY_PAIRING,
					     pairing_v2, fx->err,
					     sizeof(fx->err)),
			 0);
	for (int k = 0; k < 6000; k++) {
		enum kx_event_type type =
			(enum kx_event_type)pick(&st, KX_EVENT__COUNT);
		size_t n = family_ids(kx_event_type_family(type), ids,
				      N_ELEMS(ids));

		random_event(&fx->arena, &st, type, &ev);
		for (size_t i = 0; i < n; i++) {
			if (encode_both(fx, &ev, ids[i], &ref)) {
				n_failed++;
				continue;
			}
			n_ok++;
			if (ids[i] == latest_id(type) && getenv("KX_WHY") &&
			    kx_event_validate(&ev, why, sizeof(why)))
				fprintf(stderr, "%s\n", why);
			if (ids[i] != latest_id(type) ||
			    kx_event_validate(&ev, why, sizeof(why)))
				continue;
			assert_int_equal(decode(fx, fx->buf.data + 6,
						fx->buf.len - 6, &out),
					 0);
			if (!kx_event_equal(&ev, &out))
				fail_msg("random event %d (%s) differs after "
					 "the round trip",
					 k, kx_event_type_name(type));
			n_back++;
		}
		kx_arena_reset(&fx->arena);
	}
	print_message("%d encoded, %d refused by both, %d decoded back\n", n_ok,
		      n_failed, n_back);
	/* Each path was taken often enough to mean something. */
	assert_true(n_ok > 8000);
	assert_true(n_failed > 100);
	assert_true(n_back > 1000);
	kx_buf_release(&ref);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(test_codec__round_trip_every_event_type),
		T(test_codec__round_trip_keeps_scripts_and_optionals),
		T(test_codec__round_trip_big_members_array),
		T(test_codec__too_many_items_are_refused),
		T(test_codec__framing_header_bytes),
		T(test_codec__catalogue_ids_are_family_times_100_plus_version),
		T(test_codec__golden_fixtures_decode_and_encode_byte_for_byte),
		T(test_codec__encode_appends_to_the_buffer),
		T(test_codec__encode_rejects_the_wrong_family),
		T(test_codec__event_id_is_lower_cased),
		T(test_codec__rejects_values_the_event_cannot_hold),
		T(test_codec__practice_documented_requires_its_fields),
		T(test_codec__rejects_empty_and_short_messages),
		T(test_codec__rejects_wrong_magic_byte),
		T(test_codec__rejects_unknown_schema_id),
		T(test_codec__rejects_truncation_at_every_length),
		T(test_codec__rejects_huge_string_length),
		T(test_codec__rejects_negative_length),
		T(test_codec__rejects_enum_index_out_of_range),
		T(test_codec__rejects_union_branch_out_of_range),
		T(test_codec__rejects_trailing_bytes),
		T(test_codec__rejects_nul_and_invalid_utf8),
		T(test_codec__rejects_malformed_numbers_and_booleans),
		T(test_codec__rejects_array_counts_beyond_the_payload),
		T(test_codec__reads_arrays_written_in_blocks),
		T(test_codec__random_bytes_never_crash),
		T(test_codec__mutated_messages_never_crash),
		T(test_codec__allocator_refuses_huge_allocations),
		T(test_codec__newer_writer_with_extra_fields_decodes),
		T(test_codec__writer_with_many_fields_decodes),
		T(test_codec__writer_with_a_recursive_record_decodes),
		T(test_codec__reader_enum_default_takes_unknown_symbols),
		T(test_codec__older_writer_takes_reader_defaults),
		T(test_codec__v1_messages_decode_under_a_newer_reader),
		T(test_codec__encode_with_a_newer_schema_writes_its_defaults),
		T(test_codec__add_schema_rejects_incompatible_writers),
		T(test_codec__resolver_supplies_and_caches_registry_ids),
		T(test_codec__valid_avro_breaking_a_contract_rule_is_rejected),
		T(test_codec__free_null_does_nothing),
		cmocka_unit_test(test_codec__json_to_avro_and_back_for_every_fixture),
		T(test_codec__v1_reader_skips_the_v2_fields),
		T(test_codec__v2_reader_gives_v1_messages_the_defaults),
		T(test_codec__v2_enum_default_reads_a_later_symbol_as_none),
		T(test_codec__direct_encoder_matches_the_reference_on_every_schema),
		T(test_codec__direct_encoder_matches_the_reference_on_random_events),
	};

	if (argc > 1 && strcmp(argv[1], "--bench") == 0)
		return bench();
	kx_codec_global_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Tests of kx-aggregate's fold (consumers/kx-aggregate/fold.c) across
 * batches: a transaction that folds its events in several batches
 * (fold_keep() between them) must leave the same entity states and the
 * same deltas as one batch of them all, and so must two transactions, the
 * second taking the states the first handed over (fold_give(),
 * fold_copy_state(), as store.c does with the states it carries). Each
 * batch's events live in an arena freed right after the batch, so a state
 * still pointing into them is a use after free (the suite runs this under
 * ASan and valgrind).
 *
 * The events are the bundled partner samples (examples/partners), shuffled
 * so that entities see their events out of order, with party ids made up
 * per event type so that parties change along the way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmocka.h needs the headers above first. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "fold.h"
#include "kx/arena.h"
#include "kx/buf.h"
#include "kx/event_json.h"
#include "kx/hash.h"
#include "kx/validate.h"

#define MAX_LINES 2048

/* The sample lines, read once. */
static char *lines[MAX_LINES];
static size_t n_lines;

static void
read_samples(void)
{
	static const char *const files[] = {
		"agir-catalogue.jsonl",	      "agir-partnerships.jsonl",
		"iuc-archive.jsonl",	      "iurc-crm.jsonl",
		"iurc-events.jsonl",	      "rpd-dialogues.jsonl",
		"urbelac-registrations.jsonl",
	};
	char path[1024], buf[65536];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *fp;
		snprintf(path, sizeof(path), "%s/examples/partners/%s",
			 KX_SOURCE_DIR, files[i]);
		fp = fopen(path, "r");
		assert_non_null(fp);
		while (fgets(buf, sizeof(buf), fp) && n_lines < MAX_LINES) {
			buf[strcspn(buf, "\n")] = '\0';
			assert_non_null(lines[n_lines] = strdup(buf));
			n_lines++;
		}
		fclose(fp);
	}
	/* A fixed shuffle: entities see their events out of order. */
	uint64_t x = 42;
	for (size_t i = n_lines - 1; i > 0; i--) {
		size_t j;
		char *t;
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		j = (size_t)(x >> 33) % (i + 1);
		t = lines[i];
		lines[i] = lines[j];
		lines[j] = t;
	}
}

static uint32_t
fnv(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* One batch's events, in an arena of their own. */
struct batch {
	struct kx_arena arena;
	struct pending p[MAX_LINES];
	unsigned char uuids[MAX_LINES][16];
	int32_t ids[MAX_LINES][2];
	size_t n;
};

/* Parses lines [from, to) into b (lines that are not valid events are
 * skipped: the samples are all valid, but the test need not know). */
static void
load_batch(struct batch *b, size_t from, size_t to)
{
	char err[256];

	kx_arena_init(&b->arena);
	b->n = 0;
	for (size_t i = from; i < to; i++) {
		struct kx_event *ev = kx_arena_calloc(&b->arena, 1, sizeof(*ev));
		struct pending *p = &b->p[b->n];
		const char *id;

		assert_non_null(ev);
		if (kx_event_parse_line(lines[i], strlen(lines[i]), &b->arena,
					ev, err, sizeof(err)))
			continue;
		id = kx_event_entity_id(ev);
		b->ids[b->n][0] = (int32_t)(fnv(id) % 40) + 1;
		b->ids[b->n][1] = (int32_t)((fnv(id) + ev->type) % 40) + 1;
		p->ev = ev;
		/* Every other event comes with its id parsed, as store.c
		 * passes them; the others the fold parses itself. */
		p->id = i % 2 && !kx_uuid_parse(ev->event_id, b->uuids[b->n])
				? b->uuids[b->n]
				: NULL;
		p->shard = (int32_t)(fnv(id) % 6);
		p->party_ids = b->ids[b->n];
		p->n_parties = 2;
		b->n++;
	}
}

/* The states handed over by earlier transactions, newest first: what
 * store.c carries from the one before and loads from the database for
 * older ones. */
#define MAX_TXNS 8
struct handed {
	struct kx_hash h[MAX_TXNS];
	struct kx_arena a[MAX_TXNS];
	size_t n;
};

static const struct ent *
handed_state(const struct handed *hd, const struct ent *e)
{
	size_t len;
	const char *key = fold_entity_key(e, &len);

	for (size_t i = hd->n; i-- > 0;) {
		const struct ent *c = kx_hash_get(&hd->h[i], key, len);
		if (c && c->last.at != NO_TIME)
			return c;
	}
	return NULL;
}

/* Queues b's events; entities new to f take the state handed over. */
static void
add_batch(struct fold *f, struct batch *b, const struct handed *hd)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct kx_event *ev = b->p[i].ev;
		bool created;
		struct ent *e = fold_entity(f, fold_kind_of(ev->type),
					    kx_event_entity_id(ev), &created);

		assert_non_null(e);
		if (created) {
			const struct ent *c = handed_state(hd, e);
			if (c) {
				assert_int_equal(fold_copy_state(f, c, e), 0);
				e->exists = e->stored = true;
			}
		}
		assert_int_equal(fold_add(f, e, &b->p[i]), 0);
	}
}

/* Frees a batch's events (ASan and valgrind see any later read). */
static void
drop_batch(struct batch *b)
{
	kx_arena_release(&b->arena);
}

/*
 * What a fold leaves, as sorted lines: every nonzero delta keyed by its
 * cell's identity (not the cell's address), and every changed state.
 * Appended to out, so deltas of several transactions add up in sums.
 */
struct sums {
	struct kx_hash h; /* line key -> int64_t * */
	struct kx_arena a;
};

static void
sum_add(struct sums *s, const char *key, int64_t v)
{
	struct kx_hash_slot *slot;
	size_t len = strlen(key);
	int64_t *p = kx_hash_get(&s->h, key, len);

	if (!p) {
		char *k = kx_arena_strndup(&s->a, key, len);
		assert_non_null(k);
		assert_non_null(slot = kx_hash_put(&s->h, k, len));
		assert_non_null(p = kx_arena_calloc(&s->a, 1, sizeof(*p)));
		slot->value = p;
	}
	*p += v;
}

static void
cell_name(const struct cell *c, char *out, size_t n)
{
	snprintf(out, n, "%d|%s|%d|%s", c->dim, c->programme, c->goal,
		 c->target);
}

static void
collect_deltas(const struct fold *f, struct sums *s)
{
	char cell[128], key[256];

	for (size_t i = 0; i < f->cells.cap; i++) {
		const struct cell_delta *d = f->cells.slots[i].value;
		if (!f->cells.slots[i].key)
			continue;
		cell_name(d->cell, cell, sizeof(cell));
		for (int m = 0; m < M__COUNT; m++) {
			snprintf(key, sizeof(key), "cell %s|%d %s", cell,
				 (int)d->shard, measure_columns[m]);
			sum_add(s, key, d->m[m]);
		}
	}
	for (size_t i = 0; i < f->parties.cap; i++) {
		const struct party_delta *d = &f->parties.slots[i];
		if (!d->cell)
			continue;
		cell_name(d->cell, cell, sizeof(cell));
		snprintf(key, sizeof(key), "party %s|%d", cell,
			 (int)d->party_id);
		sum_add(s, key, d->refs);
	}
	for (size_t i = 0; i < f->months.cap; i++) {
		const struct month_delta *d = f->months.slots[i].value;
		if (!f->months.slots[i].key)
			continue;
		for (int m = 0; m < MM__COUNT; m++) {
			snprintf(key, sizeof(key), "month %s|%s|%d|%d",
				 d->month, d->programme, (int)d->shard, m);
			sum_add(s, key, d->m[m]);
		}
	}
}

/* The fields of e's own kind (struct ent's union). */
static void
add_kind_fields(struct kx_buf *b, const struct ent *e)
{
	const struct ent_visit *v = &e->u.visit;

#define S(x) ((x) ? (x) : "-")
	switch (e->kind) {
	case ENT_PAIRING:
		kx_buf_addf(b, " %s %d %lld",
			    S(e->u.pairing.cooperation_type),
			    (int)e->u.pairing.pilot_projects,
			    (long long)e->u.pairing.budget_eur);
		break;
	case ENT_VISIT:
		kx_buf_addf(b, " %s %s %s %d %d %d %lld %d %s %s %d",
			    S(v->pairing_id), S(v->visit_type), S(v->format),
			    (int)v->start_date,
			    (int)v->end_date, (int)v->participants,
			    (long long)v->held.at, (int)v->held_participants,
			    S(v->report_url), S(v->follow_up),
			    (int)v->by_sector.present);
		break;
	case ENT_PRACTICE:
		kx_buf_addf(b, " %s %s %s", S(e->u.practice.title),
			    S(e->u.practice.product_type),
			    S(e->u.practice.url));
		break;
	default:
		kx_buf_addf(b, " %s", S(e->u.transfer.practice_id));
		break;
	}
#undef S
}

/* The changed states, keyed by entity: the last word for each. */
static void
collect_states(const struct fold *f, struct kx_buf *states[], size_t *n)
{
	for (const struct ent *e = f->dirty; e; e = e->next_dirty) {
		struct kx_buf *b = malloc(sizeof(*b));
		size_t len;
		assert_non_null(b);
		kx_buf_init(b);
		kx_buf_addf(b, "%s %d %d %s %s %s %lld %lld %u:",
			    fold_entity_key(e, &len), (int)e->type,
			    (int)e->shard, e->programme,
			    e->source ? e->source : "-",
			    e->geo_area ? e->geo_area : "-",
			    (long long)e->last.at, (long long)e->first.at,
			    (unsigned)e->n_sdgs);
		for (size_t i = 0; i < e->n_sdgs; i++)
			kx_buf_addf(b, " %s", e->sdgs[i]);
		for (size_t i = 0; i < e->n_themes; i++)
			kx_buf_addf(b, " t:%s", e->themes[i]);
		for (size_t i = 0; i < e->n_parties; i++)
			kx_buf_addf(b, " p:%d", (int)e->party_ids[i]);
		kx_buf_addf(b, " %u", (unsigned)e->goals);
		add_kind_fields(b, e);
		states[(*n)++] = b;
	}
}

static int
buf_cmp(const void *a, const void *b)
{
	const struct kx_buf *x = *(const struct kx_buf *const *)a;
	const struct kx_buf *y = *(const struct kx_buf *const *)b;

	return strcmp(x->data, y->data);
}

/* Same nonzero sums on both sides. */
static void
assert_same_sums(struct sums *a, struct sums *b)
{
	size_t nonzero = 0;

	for (int pass = 0; pass < 2; pass++) {
		struct sums *x = pass ? b : a, *y = pass ? a : b;
		for (size_t i = 0; i < x->h.cap; i++) {
			const int64_t *v = x->h.slots[i].value, *w;
			if (!x->h.slots[i].key || !*v)
				continue;
			nonzero++;
			w = kx_hash_get(&y->h, x->h.slots[i].key,
					x->h.slots[i].keylen);
			if (!w || *w != *v)
				fail_msg("%.*s: %lld against %lld",
					 (int)x->h.slots[i].keylen,
					 x->h.slots[i].key, (long long)*v,
					 w ? (long long)*w : 0LL);
		}
	}
	assert_true(nonzero > 100); /* the comparison compared something */
}

static void
sums_init(struct sums *s)
{
	kx_hash_init(&s->h);
	kx_arena_init(&s->a);
}

static void
sums_release(struct sums *s)
{
	kx_hash_release(&s->h);
	kx_arena_release(&s->a);
}

/*
 * Folds lines [0, n_lines) cut at cuts[] (each a line index); a cut with
 * give set ends the transaction there (fold_give()) and starts another
 * that takes the states over. Adds the deltas to s and, when states is
 * given, lists the last transaction's changed states there (an entity
 * folded by several transactions is listed by each, so the test compares
 * states only where a single transaction holds them all).
 */
static void
fold_cut(const size_t *cuts, const bool *give, size_t n_cuts,
	 struct sums *s, struct kx_buf *states[], size_t *n_states)
{
	struct fold f;
	struct handed hd;
	size_t from = 0;

	fold_init(&f);
	hd.n = 0;
	for (size_t c = 0; c <= n_cuts; c++) {
		size_t to = c < n_cuts ? cuts[c] : n_lines;
		bool end = c == n_cuts || give[c];
		struct batch *b = malloc(sizeof(*b));

		assert_non_null(b);
		load_batch(b, from, to);
		add_batch(&f, b, &hd);
		assert_int_equal(fold_run(&f), 0);
		if (end)
			collect_deltas(&f, s);
		if (end && c == n_cuts && states)
			collect_states(&f, states, n_states);
		assert_int_equal(fold_keep(&f), 0);
		if (end && c < n_cuts) {
			assert_true(hd.n < MAX_TXNS);
			kx_hash_init(&hd.h[hd.n]);
			kx_arena_init(&hd.a[hd.n]);
			fold_give(&f, &hd.h[hd.n], &hd.a[hd.n]);
			hd.n++;
		}
		drop_batch(b);
		free(b);
		from = to;
	}
	for (size_t i = 0; i < hd.n; i++) {
		kx_hash_release(&hd.h[i]);
		kx_arena_release(&hd.a[i]);
	}
	fold_release(&f);
}

static void
free_states(struct kx_buf *states[], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		kx_buf_release(states[i]);
		free(states[i]);
	}
}

static void
test_fold__batches_of_a_transaction_add_up_to_one(void **state)
{
	static struct kx_buf *one[MAX_LINES], *many[MAX_LINES];
	size_t n_one = 0, n_many = 0;
	size_t cuts[] = {n_lines / 7, n_lines / 3, n_lines / 3 + 1,
			 n_lines / 2, (n_lines * 4) / 5};
	bool give[] = {false, false, false, false, false};
	struct sums a, b;

	(void)state;
	sums_init(&a);
	sums_init(&b);
	fold_cut(NULL, NULL, 0, &a, one, &n_one);
	fold_cut(cuts, give, 5, &b, many, &n_many);
	assert_same_sums(&a, &b);
	/* The same entities changed, to the same states. */
	assert_int_equal(n_one, n_many);
	qsort(one, n_one, sizeof(*one), buf_cmp);
	qsort(many, n_many, sizeof(*many), buf_cmp);
	for (size_t i = 0; i < n_one; i++)
		assert_string_equal(one[i]->data, many[i]->data);
	free_states(one, n_one);
	free_states(many, n_many);
	sums_release(&a);
	sums_release(&b);
}

static void
test_fold__transactions_hand_their_states_over(void **state)
{
	size_t cuts[] = {n_lines / 5, n_lines / 2, (n_lines * 3) / 4};
	bool give[] = {true, false, true};
	struct sums a, b;

	(void)state;
	sums_init(&a);
	sums_init(&b);
	fold_cut(NULL, NULL, 0, &a, NULL, NULL);
	fold_cut(cuts, give, 3, &b, NULL, NULL);
	assert_same_sums(&a, &b);
	sums_release(&a);
	sums_release(&b);
}

/*
 * fold_keep() readies each state for the next batch's deltas (exists),
 * but an entity the transaction created still has no row: store.c must
 * COPY it, not upsert it (stored), so that a row another transaction
 * created meanwhile fails the COPY on its key.
 */
static void
test_fold__kept_states_of_new_entities_are_not_stored(void **state)
{
	struct batch *b = malloc(sizeof(*b));
	struct handed hd;
	struct fold f;
	size_t n_dirty = 0;

	(void)state;
	assert_non_null(b);
	fold_init(&f);
	hd.n = 0;
	load_batch(b, 0, n_lines / 2);
	add_batch(&f, b, &hd);
	assert_int_equal(fold_run(&f), 0);
	assert_int_equal(fold_keep(&f), 0);
	for (const struct ent *e = f.dirty; e; e = e->next_dirty) {
		assert_true(e->exists);
		assert_false(e->stored);
		n_dirty++;
	}
	assert_true(n_dirty > 0);
	drop_batch(b);
	free(b);
	fold_release(&f);
}

static int
setup(void **state)
{
	(void)state;
	read_samples();
	return n_lines > 100 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < n_lines; i++)
		free(lines[i]);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_fold__batches_of_a_transaction_add_up_to_one),
		cmocka_unit_test(
			test_fold__transactions_hand_their_states_over),
		cmocka_unit_test(
			test_fold__kept_states_of_new_entities_are_not_stored),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

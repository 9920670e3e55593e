/*
 * Bounded blocking FIFO: a ring of cap pointers under one mutex. A side
 * signals the other only when a thread there is waiting, so a steady flow
 * costs a lock and no wake-up per item; callers pass batches, not single
 * events, to keep even that small.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "kx/err.h"
#include "kx/queue.h"

struct kx_queue {
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full;
	void **ring;
	size_t cap, head, len; /* the oldest item is ring[head] */
	int pop_waiters, push_waiters;
	bool closed;
};

struct kx_queue *
kx_queue_new(size_t cap)
{
	struct kx_queue *q = NULL;

	if (cap == 0 || !(q = calloc(1, sizeof(*q))))
		return NULL;
	if (!(q->ring = calloc(cap, sizeof(*q->ring)))) {
		free(q);
		return NULL;
	}
	q->cap = cap;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->not_empty, NULL);
	pthread_cond_init(&q->not_full, NULL);
	return q;
}

void
kx_queue_free(struct kx_queue *q)
{
	if (!q)
		return;
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->not_empty);
	pthread_cond_destroy(&q->not_full);
	free(q->ring);
	free(q);
}

int
kx_queue_push(struct kx_queue *q, void *item)
{
	int rc = 0;

	pthread_mutex_lock(&q->lock);
	while (q->len == q->cap && !q->closed) {
		q->push_waiters++;
		pthread_cond_wait(&q->not_full, &q->lock);
		q->push_waiters--;
	}
	if (q->closed) {
		rc = KX_EINTR;
	} else {
		q->ring[(q->head + q->len) % q->cap] = item;
		q->len++;
		if (q->pop_waiters)
			pthread_cond_signal(&q->not_empty);
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}

void *
kx_queue_pop(struct kx_queue *q)
{
	void *item = NULL;

	pthread_mutex_lock(&q->lock);
	while (q->len == 0 && !q->closed) {
		q->pop_waiters++;
		pthread_cond_wait(&q->not_empty, &q->lock);
		q->pop_waiters--;
	}
	if (q->len) {
		item = q->ring[q->head];
		q->head = (q->head + 1) % q->cap;
		q->len--;
		if (q->push_waiters)
			pthread_cond_signal(&q->not_full);
	}
	pthread_mutex_unlock(&q->lock);
	return item;
}

void
kx_queue_close(struct kx_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	pthread_cond_broadcast(&q->not_empty);
	pthread_cond_broadcast(&q->not_full);
	pthread_mutex_unlock(&q->lock);
}

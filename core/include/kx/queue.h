/*
 * A bounded blocking FIFO of pointers between threads (mutex and two
 * condition variables). Items come out in the order they went in. The
 * queue owns none of its items.
 *
 * Closing it is how either side says "no more": pushes then fail at once,
 * and pops return what is left, then NULL. Every waiter is woken.
 */
#ifndef KX_QUEUE_H
#define KX_QUEUE_H

#include <stddef.h>

struct kx_queue;

/* Returns a queue holding at most cap (>= 1) items, or NULL. */
struct kx_queue *kx_queue_new(size_t cap);

/* Frees the queue (not its items); no thread may be using it. */
void kx_queue_free(struct kx_queue *q);

/*
 * Appends item, waiting while the queue is full. Returns 0, or KX_EINTR
 * when the queue is closed (then item was not added).
 */
int kx_queue_push(struct kx_queue *q, void *item);

/*
 * Removes and returns the oldest item, waiting while the queue is empty.
 * Returns NULL once the queue is closed and empty.
 */
void *kx_queue_pop(struct kx_queue *q);

/* Closes the queue; see above. Closing twice is harmless. */
void kx_queue_close(struct kx_queue *q);

#endif

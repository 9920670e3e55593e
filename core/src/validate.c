/* Placeholder until the validation module lands. */
#include "kx/err.h"
#include "kx/validate.h"

int
kx_event_validate(const struct kx_event *ev, char *errbuf, size_t errlen)
{
	(void)ev;
	(void)errbuf;
	(void)errlen;
	return 0;
}

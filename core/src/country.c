/*
 * ISO 3166-1 alpha-2 country codes.
 *
 * The table holds the 249 officially assigned codes (as of ISO 3166-1:2020
 * and its newsletters up to 2024; the same list as Debian's iso-codes) plus
 * XK, the user-assigned code for Kosovo that the European Commission uses.
 * Exceptionally reserved codes such as UK or EU are not assigned and are
 * rejected: a party's country must name a country. Rows are indexed by the
 * first letter and list the second letters, so a lookup is one short
 * memchr.
 */
#include <string.h>

#include "kx/validate.h"

static const char *const second_letters[26] = {
	/* A */ "DEFGILMOQRSTUWXZ",
	/* B */ "ABDEFGHIJLMNOQRSTVWYZ",
	/* C */ "ACDFGHIKLMNORUVWXYZ",
	/* D */ "EJKMOZ",
	/* E */ "CEGHRST",
	/* F */ "IJKMOR",
	/* G */ "ABDEFGHILMNPQRSTUWY",
	/* H */ "KMNRTU",
	/* I */ "DELMNOQRST",
	/* J */ "EMOP",
	/* K */ "EGHIMNPRWYZ",
	/* L */ "ABCIKRSTUVY",
	/* M */ "ACDEFGHKLMNOPQRSTUVWXYZ",
	/* N */ "ACEFGILOPRUZ",
	/* O */ "M",
	/* P */ "AEFGHKLMNRSTWY",
	/* Q */ "A",
	/* R */ "EOSUW",
	/* S */ "ABCDEGHIJKLMNORSTVXYZ",
	/* T */ "CDFGHJKLMNORTVWZ",
	/* U */ "AGMSYZ",
	/* V */ "ACEGINU",
	/* W */ "FS",
	/* X */ "K",
	/* Y */ "ET",
	/* Z */ "AMW",
};

bool
kx_country_valid(const char *cc)
{
	const char *row;

	if (!cc || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z' ||
	    cc[2] != '\0')
		return false;
	row = second_letters[cc[0] - 'A'];
	return memchr(row, cc[1], strlen(row)) != NULL;
}

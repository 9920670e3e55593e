/*
 * kx-admin schemas check: proves every schema version of each family
 * against every older one, in both directions, by the Avro specification's
 * rules (kx/compat.h), and that KX itself can read each one.
 */
#ifndef KX_ADMIN_SCHEMAS_H
#define KX_ADMIN_SCHEMAS_H

/*
 * Checks the catalogue in dir (its catalogue.txt and .avsc files), or the
 * catalogue built into KX when dir is NULL. Returns the exit status: 0 all
 * compatible, 1 incompatibilities (each one printed), 2 unreadable input.
 */
int kx_admin_schemas_check(const char *dir);

#endif

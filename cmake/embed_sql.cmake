# Script mode: cmake -DDIR=consumers/sql -DOUT=migrations_gen.c -P this
# Embeds every NNN_name.sql of DIR, in order, as the migration list.
file(GLOB files ${DIR}/[0-9][0-9][0-9]_*.sql)
list(SORT files)
set(body "")
set(rows "")
set(i 0)
foreach(f IN LISTS files)
  get_filename_component(name ${f} NAME)
  string(SUBSTRING ${name} 0 3 version)
  math(EXPR version "${version}")
  file(READ ${f} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  string(APPEND body "static const char sql_${i}[] = {${hex} 0x00};\n")
  string(APPEND rows "\t{${version}, \"${name}\", sql_${i}},\n")
  math(EXPR i "${i} + 1")
endforeach()
file(WRITE ${OUT}.tmp "/* Generated from consumers/sql by cmake/embed_sql.cmake. */
#include \"kxdb.h\"

${body}
const struct kxdb_migration kxdb_migrations[] = {
${rows}};
const size_t kxdb_migrations_len = ${i};
")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)

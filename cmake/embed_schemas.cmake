# Script mode: cmake -DCATALOGUE=catalogue.txt -DOUT=schemas_gen.c -P this
# Reads "<id> <family> <version> <file>" lines and writes the catalogue as C.
get_filename_component(dir ${CATALOGUE} DIRECTORY)
file(STRINGS ${CATALOGUE} lines)
set(body "")
set(rows "")
set(i 0)
foreach(line IN LISTS lines)
  if(line MATCHES "^[ \t]*#" OR line MATCHES "^[ \t]*$")
    continue()
  endif()
  if(NOT line MATCHES "^([0-9]+)[ \t]+([a-z]+)[ \t]+([0-9]+)[ \t]+([^ \t]+)$")
    message(FATAL_ERROR "catalogue.txt: bad line '${line}'")
  endif()
  set(id ${CMAKE_MATCH_1})
  set(family ${CMAKE_MATCH_2})
  set(version ${CMAKE_MATCH_3})
  set(file ${CMAKE_MATCH_4})
  if(NOT EXISTS ${dir}/${file})
    message(FATAL_ERROR "catalogue.txt: '${file}' does not exist")
  endif()
  file(READ ${dir}/${file} hex HEX)
  string(LENGTH "${hex}" hexlen)
  math(EXPR len "${hexlen} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  string(TOUPPER ${family} FAMILY)
  string(APPEND body "static const char avsc_${i}[] = {${hex} 0x00};\n")
  string(APPEND rows "\t{${id}, KX_FAMILY_${FAMILY}, ${version}, \"${file}\", avsc_${i}, ${len}},\n")
  math(EXPR i "${i} + 1")
endforeach()
file(WRITE ${OUT}.tmp "/* Generated from schemas/catalogue.txt by cmake/embed_schemas.cmake. */
#include \"kx/schema.h\"

${body}
const struct kx_schema_entry kx__schema_catalogue[] = {
${rows}};
const size_t kx__schema_catalogue_len = ${i};
")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)

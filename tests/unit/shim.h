/* C shim: the C API as the C++ unit tests see it. */
#ifndef TESTS_UNIT_SHIM_H
#define TESTS_UNIT_SHIM_H
#ifndef _Static_assert
#define _Static_assert static_assert
#endif
extern "C" {
#include "libpd/array.h"
#include "libpd/bdev.h"
#include "libpd/bitset.h"
#include "libpd/bm.h"
#include "libpd/btree.h"
#include "libpd/crc32c.h"
#include "libpd/disk.h"
#include "libpd/io.h"
#include "libpd/pd_err.h"
#include "libpd/refs.h"
#include "libpd/same_target.h"
#include "libpd/sm_build.h"
#include "libpd/space_map.h"
#include "libpd/validator.h"
#include "libpd/writer.h"
#include "format/cache_inval.h"
#include "format/cache_map.h"
#include "format/cache_sb.h"
#include "format/era_build.h"
#include "format/era_check.h"
#include "format/era_digest.h"
#include "format/era_problem.h"
#include "format/era_logical.h"
#include "format/era_repair.h"
#include "format/era_salvage.h"
#include "format/era_sb.h"
#include "format/era_since.h"
#include "format/era_size.h"
#include "format/era_walk.h"
#include "xml/era_dump.h"
#include "xml/era_emit.h"
#include "xml/era_invalidate.h"
#include "xml/era_parse.h"
#include "xml/era_restore.h"
#include "xml/sink.h"
}
#endif

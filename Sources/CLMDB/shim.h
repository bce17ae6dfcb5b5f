#ifndef CLMDB_SHIM_H
#define CLMDB_SHIM_H
// The one C header the package sees. Only Sources/LedgerStore/LMDB*.swift import CLMDB.
#include <lmdb.h>
#endif

// Force-included into faiss-node's sources when building against faiss 1.7.3 (see CMakeLists.txt).
#pragma once
#include <faiss/Index.h>
namespace faiss {
using idx_t = Index::idx_t;
}

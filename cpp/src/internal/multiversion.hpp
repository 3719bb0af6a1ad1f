// NOCOPY_MULTIVERSION: function multiversioning for hot loops (an AVX2 clone picked at load time
// beside the baseline), never -march=native. GCC supports it on templates; clang (up to 17) does
// not, so with clang and on other architectures the baseline alone is built. Under
// ThreadSanitizer neither: the clone resolver runs at load time, before TSan is ready.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
#define NOCOPY_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define NOCOPY_MULTIVERSION
#endif

/* ebq-build: -O0 -pthread -static -DFUNCS_STATIC */
/* funcs.c linked statically, for a root of its own (a chroot). */
#include "funcs.c"

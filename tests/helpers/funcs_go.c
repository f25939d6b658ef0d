/* ebq-build: -O0 -pthread -ldl */
/* funcs.c with a .go.buildinfo section: a Go binary, to ebq. */
#define FAKE_GO
#include "funcs.c"

/* ebq-build: -O0 -pthread -ldl -no-pie -fno-pie */
/* funcs.c as an executable that is not position-independent (ET_EXEC). */
#include "funcs.c"

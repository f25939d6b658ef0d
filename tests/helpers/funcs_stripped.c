/* ebq-build: -O0 -pthread -ldl -rdynamic -s */
/* funcs.c stripped: no .symtab, its functions exported in .dynsym. */
#include "funcs.c"

#include "lsio.h"
#include <stdio.h>
int main(void) { printf("abi %u\n", lsio_abi_version()); return 0; }

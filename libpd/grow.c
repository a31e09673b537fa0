#include <stdint.h>
#include <stdlib.h>
#include "grow.h"

void *pd_grow(void *arr, size_t *cap, size_t n, size_t elem, size_t first)
{
	size_t c = *cap ? 2 * *cap : first;
	void *q;

	if (n < *cap)
		return arr;
	if (c < *cap || c > SIZE_MAX / elem)
		return NULL;
	q = realloc(arr, c * elem);
	if (q)
		*cap = c;
	return q;
}

/* Room for one more element in an array that grows by doubling. */
#ifndef PD_GROW_H
#define PD_GROW_H
#include <stddef.h>

/* arr holds n of *cap elements of elem bytes. Returns arr when there is
 * room for one more, else arr moved to twice the room (`first` elements
 * when *cap is 0) with *cap updated, or NULL when out of memory (arr and
 * *cap unchanged, arr still to be freed). */
void *pd_grow(void *arr, size_t *cap, size_t n, size_t elem, size_t first);

#endif

# examples/: programs using the C API (doc/api.md). `make examples` builds
# them against the in-tree libraries exactly as an installed copy would be
# used (-I with the header tree's root).
EXAMPLES := $(patsubst examples/%.c,$(B)/examples/%,$(sort $(wildcard examples/*.c)))

.PHONY: examples
examples: $(EXAMPLES)

$(B)/examples/%: examples/%.c $(B)/libera.a $(B)/libpd.a
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -I. $(CFLAGS) $(SANFLAGS) -o $@ $< $(B)/libera.a $(B)/libpd.a \
		$(XML_LIBS) $(BLKID_LIBS) -lpthread

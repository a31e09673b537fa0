# Robustness tests (issue 7): the damage tool used by tests/integration/test_damage.py.
# tests/tools/era_damage.c is compiled by the generic $(B)/%.o rule.
$(B)/era_damage: $(B)/tests/tools/era_damage.o $(B)/libera.a $(B)/libpd.a
	$(CC) $(SANFLAGS) $(LDFLAGS) -o $@ $^ -lpthread

era-damage: $(B)/era_damage
.PHONY: era-damage

# the integration tests need it
check-integration: $(B)/era_damage

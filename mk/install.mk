# make install / make uninstall. Honours DESTDIR, PREFIX, SBINDIR, MANDIR,
# INCLUDEDIR, LIBDIR (set in the Makefile) and the directories below.
DATADIR ?= $(PREFIX)/share
DOCDIR ?= $(DATADIR)/doc/era-tools
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
# initramfs-tools reads hooks from /usr/share/initramfs-tools (packages) and
# /etc/initramfs-tools (local administrator); dracut only from /usr/lib/dracut.
INITRAMFSDIR ?= $(if $(filter /usr,$(PREFIX)),/usr/share/initramfs-tools,/etc/initramfs-tools)
DRACUTDIR ?= /usr/lib/dracut/modules.d
# systemd's unit directory on bookworm for packages; under /usr/local, its own.
SYSTEMDUNITDIR ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
# era_check.static goes into every initramfs: installed stripped.
STRIP ?= strip

INSTALL ?= install
MAN_PAGES := $(sort $(wildcard man8/*.8))
PUBLIC_HEADERS := $(sort $(wildcard libpd/*.h format/*.h xml/*.h))
INSTALL_TOOLS := $(BINS:bin/%=%)

.PHONY: install uninstall install-files

install: all $(B)/libpd.a $(B)/libera.a
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(INITRAMFSDIR)/hooks $(DESTDIR)$(INITRAMFSDIR)/scripts/local-top \
		$(DESTDIR)$(DRACUTDIR)/90era-tools $(DESTDIR)$(SYSTEMDUNITDIR) \
		$(addprefix $(DESTDIR)$(INCLUDEDIR)/era-tools/,libpd format xml)
	$(INSTALL) -m 0755 $(BINS) $(DESTDIR)$(SBINDIR)/
	$(INSTALL) -m 0755 -s --strip-program=$(STRIP) bin/era_check.static $(DESTDIR)$(SBINDIR)/era_check.static
	$(INSTALL) -m 0644 $(MAN_PAGES) $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 0644 $(B)/libpd.a $(B)/libera.a $(DESTDIR)$(LIBDIR)/
	$(foreach d,libpd format xml,$(INSTALL) -m 0644 $(filter $(d)/%,$(PUBLIC_HEADERS)) \
		$(DESTDIR)$(INCLUDEDIR)/era-tools/$(d)/ &&) true
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
		-e 's|@DOCDIR@|$(DOCDIR)|g' -e 's|@VERSION@|$(VERSION)|g' contrib/era-tools.pc.in \
		> $(DESTDIR)$(PKGCONFIGDIR)/era-tools.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/era-tools.pc
	$(INSTALL) -m 0644 contrib/bash-completion/era-tools $(DESTDIR)$(BASHCOMPDIR)/era-tools
	$(foreach t,$(INSTALL_TOOLS),ln -sf era-tools $(DESTDIR)$(BASHCOMPDIR)/$(t) &&) true
	sed 's|@SBINDIR@|$(SBINDIR)|g' contrib/initramfs-tools/hooks/era-tools \
		> $(DESTDIR)$(INITRAMFSDIR)/hooks/era-tools
	chmod 0755 $(DESTDIR)$(INITRAMFSDIR)/hooks/era-tools
	$(INSTALL) -m 0755 contrib/initramfs-tools/scripts/local-top/era-check \
		$(DESTDIR)$(INITRAMFSDIR)/scripts/local-top/era-check
	$(INSTALL) -m 0755 contrib/dracut/90era-tools/module-setup.sh contrib/dracut/90era-tools/era-check.sh \
		$(DESTDIR)$(DRACUTDIR)/90era-tools/
	sed 's|@SBINDIR@|$(SBINDIR)|g' contrib/systemd/era-check@.service.in \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/era-check@.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/era-check@.service
	$(INSTALL) -m 0644 README.md INSTALL doc/api.md $(sort $(wildcard examples/*.c examples/*.sh)) \
		contrib/era-check.conf.example $(DESTDIR)$(DOCDIR)/

# Removes exactly what install wrote, then the directories that are ours.
uninstall:
	rm -f $(addprefix $(DESTDIR)$(SBINDIR)/,$(INSTALL_TOOLS) era_check.static)
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(MAN_PAGES)))
	rm -f $(DESTDIR)$(LIBDIR)/libpd.a $(DESTDIR)$(LIBDIR)/libera.a $(DESTDIR)$(PKGCONFIGDIR)/era-tools.pc
	rm -rf $(DESTDIR)$(INCLUDEDIR)/era-tools $(DESTDIR)$(DOCDIR) $(DESTDIR)$(DRACUTDIR)/90era-tools
	rm -f $(addprefix $(DESTDIR)$(BASHCOMPDIR)/,era-tools $(INSTALL_TOOLS))
	rm -f $(DESTDIR)$(INITRAMFSDIR)/hooks/era-tools $(DESTDIR)$(INITRAMFSDIR)/scripts/local-top/era-check
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/era-check@.service

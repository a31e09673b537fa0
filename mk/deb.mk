# Debian package (issue 15): `make deb` builds build/deb/era-tools_VERSION_ARCH.deb
# with debian/ (debhelper) from a copy of the tree, so dpkg-buildpackage
# writes nothing outside build/, then runs lintian (errors fail the build).
# `make check` runs check-deb: the package's contents and maintainer
# scripts (tests/deb/test_deb.py), and, as root with thin-provisioning-tools'
# .deb at hand, install / remove / purge beside it in a throwaway dpkg root.
DEB_PKGS := debhelper dpkg-dev fakeroot lintian
DEB_DIR := $(B)/deb
DEB_SRC := $(DEB_DIR)/era-tools-$(VERSION)
DEB_FILE = $(firstword $(wildcard $(DEB_DIR)/era-tools_$(VERSION)_*.deb))

.PHONY: deb deps-deb check-deb

deps-deb:
	$(call install_missing,$(DEB_PKGS),--no-install-recommends )

deb: deps-deb
	@rm -rf $(DEB_DIR) && mkdir -p $(DEB_SRC)
	@tar -c --exclude=./.git --exclude=./build --exclude=./build-asan --exclude=./build-fuzz \
		--exclude=./bin --exclude=__pycache__ . | tar -x -C $(DEB_SRC)
	cd $(DEB_SRC) && env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS dpkg-buildpackage -us -uc -b > ../build.log 2>&1 || \
		{ tail -n 30 ../build.log; exit 1; }
	@rm -rf $(DEB_SRC)
	set -o pipefail; lintian --fail-on error $(DEB_DIR)/era-tools_$(VERSION)_*.deb \
		| tee $(DEB_DIR)/lintian.log
	@ls $(DEB_DIR)/era-tools_$(VERSION)_*.deb

check-deb: deb
	$(PYTHON) -m pytest -q -p no:cacheprovider --basetemp=$(B)/pytest-tmp-deb tests/deb

CHECK_EXTRA += check-deb

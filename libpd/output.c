#include <blkid/blkid.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "output.h"
#include "same_target.h"

int pd_output_signature(const char *path, char *what, size_t len)
{
	blkid_probe pr = blkid_new_probe_from_filename(path);
	const char *type = NULL, *usage = NULL;
	int r, found = 0;

	if (!pr)
		return 0; /* cannot probe: nothing known there */
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE);
	blkid_probe_enable_partitions(pr, 1);
	r = blkid_do_safeprobe(pr);
	if (r == 0) {
		if (!blkid_probe_lookup_value(pr, "TYPE", &type, NULL)) {
			found = 1;
			blkid_probe_lookup_value(pr, "USAGE", &usage, NULL);
			snprintf(what, len, "a signature of type %s%s%s%s", type, usage ? " (" : "", usage ? usage : "",
				 usage ? ")" : "");
		} else if (!blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL)) {
			found = 1;
			snprintf(what, len, "a partition table of type %s", type);
		}
	} else if (r == -2) {
		found = 1;
		snprintf(what, len, "several conflicting signatures");
	}
	blkid_free_probe(pr);
	return found;
}

int pd_output_open(struct pd_bdev *d, const char *path, unsigned flags, struct pd_err *e)
{
	struct stat st;
	char what[200];
	int r;

	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return pd_fail(e, PD_E_IO, PD_NO_BLOCK,
				       "does not exist; create it first with the size the metadata needs "
				       "(era_metadata_size tells it: truncate -s $(era_metadata_size -n NR_BLOCKS -u b) FILE)");
		return pd_fail(e, PD_E_IO, PD_NO_BLOCK, "%s", strerror(errno));
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return pd_fail(e, PD_E_INVAL, PD_NO_BLOCK, "not a regular file or a block device");
	/* never forced: O_EXCL alone misses a file under a mounted loop device
	 * and a disk whose partition is mounted */
	r = pd_target_in_use(path, 0, e);
	if (r)
		return r;
	r = pd_bdev_open(d, path, PD_OPEN_WRITE | PD_OPEN_EXCL, e);
	if (r) {
		if (-r == PD_E_BUSY)
			return pd_fail(e, PD_E_BUSY, PD_NO_BLOCK,
				       "device is in use (mounted, or held by device-mapper or another program)");
		return r;
	}
	if (!(flags & PD_OUTPUT_FORCE) && pd_output_signature(path, what, sizeof(what))) {
		pd_bdev_close(d);
		return pd_fail(e, PD_E_BUSY, PD_NO_BLOCK, "holds %s; use --force to overwrite it", what);
	}
	return 0;
}

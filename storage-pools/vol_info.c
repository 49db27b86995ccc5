/*
 * vol_info.c - one volume's labels without its data: what coffer-vol
 * label prints, and what an administrator checks before a mount.
 *
 * Reads tape file 1 (VOL1, label block), spaces forward over the data
 * file with the device's space_files (no data block is read or
 * decrypted, so no key is needed), then reads the end label.  A volume
 * whose end cannot be read still reports its label, with end_error set.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "vol.h"
#include "vol_dev.h"
#include "vol_int.h"

static int
read_block(struct vol_dev *d, uint8_t *b, size_t want, const char *what,
    struct err *e)
{
	size_t n;
	int r;

	if ((r = d->ops->read_block(d, b, VOL_DEV_BLOCK_MAX, &n, e)) < 0)
		return r;
	if (r != VOL_DEV_DATA || n != want)
		return err_set(e, COFFER_ECORRUPT, "volume %s: %s missing: "
		    "truncated or not a Coffer volume", d->name, what);
	return 0;
}

static void
fill_label(struct vol_volume_info *o, const struct vol_label *l)
{
	snprintf(o->serial, sizeof(o->serial), "%s", l->serial);
	o->version = l->version;
	memcpy(o->set_uuid, l->set_uuid, 16);
	o->seq = l->seq;
	o->block_size = l->block_size;
	o->created = l->created;
	o->kind = (int)l->kind;
	snprintf(o->server, sizeof(o->server), "%s", l->server);
	o->encrypted = (l->flags & VOL_LABEL_F_ENCRYPTED) != 0;
	o->cipher = o->encrypted ? "AES-256-GCM" : "none";
	o->kdf_log_n = l->log_n;
	o->kdf_r = l->r;
	o->kdf_p = l->p;
	o->first_block = l->first_block;
}

/* Space over the data file and read the end label into o. */
static int
read_end(struct vol_dev *d, uint8_t *b, struct vol_volume_info *o,
    struct err *e)
{
	struct vol_end x;
	int r;

	if ((r = d->ops->space_files(d, 1, e)) != 0 ||
	    (r = read_block(d, b, VOL_END_LEN, "end label", e)) != 0 ||
	    (r = vol_end_decode(b, VOL_END_LEN, &x, d->name, e)) != 0)
		return r;
	if (memcmp(x.set_uuid, o->set_uuid, 16) != 0 || x.seq != o->seq)
		return err_set(e, COFFER_ECORRUPT, "volume %s: end label of "
		    "another volume", d->name);
	o->end_kind = x.kind == VOL_END_EOV ? 1 : 2;
	snprintf(o->next_serial, sizeof(o->next_serial), "%s", x.next_serial);
	o->blocks = x.blocks;
	return 0;
}

int
vol_volume_info(const char *path, struct vol_volume_info *o, struct err *e)
{
	uint8_t *b = NULL;
	char serial[VOL_SERIAL_LEN + 1];
	struct vol_dev *d = NULL;
	struct vol_label l;
	struct err ee;
	int r;

	memset(o, 0, sizeof(*o));
	if ((b = malloc(VOL_DEV_BLOCK_MAX)) == NULL)
		return err_set(e, COFFER_ENOMEM, "volume %s: out of memory",
		    path);
	if ((r = vol_dev_file_open(path, &d, e)) != 0 ||
	    (r = read_block(d, b, VOL_VOL1_LEN, "VOL1 label", e)) != 0 ||
	    (r = vol_vol1_decode(b, VOL_VOL1_LEN, serial, path, e)) != 0 ||
	    (r = read_block(d, b, VOL_LABEL_LEN, "label block", e)) != 0 ||
	    (r = vol_label_decode(b, VOL_LABEL_LEN, &l, path, e)) != 0)
		goto out;
	if (strcmp(serial, l.serial) != 0) {
		r = err_set(e, COFFER_ECORRUPT, "volume %s: VOL1 says %s, the "
		    "label block %s", path, serial, l.serial);
		goto out;
	}
	fill_label(o, &l);
	d->ops->position(d, NULL, &o->file_bytes, NULL);
	err_clear(&ee);
	if (d->ops->space_files(d, 1, &ee) != 0 ||
	    read_end(d, b, o, &ee) != 0)
		memcpy(o->end_error, ee.msg, sizeof(o->end_error));
	r = 0;
out:
	vol_dev_close(d, NULL);
	free(b);
	return r;
}

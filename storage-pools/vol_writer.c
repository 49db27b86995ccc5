/*
 * vol_writer.c - write a record stream to a new set of FILE volumes.
 *
 * The stream ((u8 type, u32 LE length, bytes) records, then the session
 * trailer) is cut into data blocks of VOL_DATA_MAX payload bytes with no
 * regard for record boundaries; the last block before a volume change or
 * the end is short.  A data block is built in place in one buffer (header,
 * payload, tag), sealed in place, and handed to the device with its
 * AWSTAPE header in one pwritev: no copy beyond the caller's bytes into
 * the block.
 *
 * Blocks go out on a writer thread: the caller's thread copies records
 * into a ring of VW_RING block buffers (and takes the stream digest of
 * them) and goes on gathering the next ones while the writer thread
 * seals, CRCs and writes the full blocks in order.  The volume change stays where
 * it was: the block after the one whose write reported the early
 * warning is the first of the next volume.  The writer thread stops
 * before that block and the caller's thread changes the volume
 * (switch_volume, with the on_new/on_drop callbacks on the caller's
 * thread as before) while the writer thread waits, so the layout of a
 * set does not depend on timing.
 *
 * Durability:
 *  (1) A volume is complete (end label, double tapemark) and fsynced
 *      before the next volume's label is written, so the set on disk is
 *      always a prefix of whole volumes plus at most one partial one.
 *  (2) on_new registers a volume before its file is created, so no file
 *      the writer made is ever unknown to the caller's history; after a
 *      crash a registered volume may lack its file (the caller's recovery
 *      removes the record).  The directory is fsynced after the file is
 *      created and before its label is written.
 *  (3) vol_writer_close returns 0 only when every volume and the
 *      directory are fsynced; on failure it removes the set, like abort.
 *
 * Serials: "C" and five digits (C00001..C99999); a new volume takes one
 * more than the highest serial of a *.vol file in the directory (and at
 * least min_serial), created with O_EXCL so two writers in one directory
 * never share a serial; on_new may refuse one that its volume history
 * holds from another directory, and on_drop forgets one whose file
 * exists already (another server's volume).  The file is SERIAL.vol.
 */
#include "config.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "crc32c.h"
#include "err.h"
#include "util.h"
#include "vol.h"
#include "vol_dev.h"
#include "vol_int.h"

#define SERIAL_MAX	99999
#define PATH_LEN	4096
#define VW_RING		9	/* block buffers: 8 queued, 1 filling */

/* One block buffer and its payload bytes. */
struct vw_slot {
	uint8_t		*p;		/* VOL_DEV_BLOCK_MAX bytes */
	size_t		 fill;
};

struct vol_writer {
	char		 dir[PATH_LEN];
	uint64_t	 maxcap;
	struct vol_label lab;		/* the set's label; per volume: seq,
					   serial, first_block, tag */
	struct vol_crypt *crypt;	/* NULL: not encrypted */
	vol_new_cb	 on_new;
	void		*arg;
	vol_drop_cb	 on_drop;
	uint32_t	 min_serial;
	struct vol_dev	*dev;		/* the volume being written */
	char		 (*paths)[PATH_LEN];
	uint32_t	 nvols;
	uint32_t	 cap;
	uint64_t	 next_block;	/* set-wide number of the next block */
	uint32_t	 vol_blocks;	/* data blocks in the current volume */
	int		 ew;		/* early warning: next block, next
					   volume */
	int		 broken;	/* a write failed: only close/abort */
	uint8_t		*blk;		/* the slot being filled */
	size_t		 fill;		/* payload bytes in blk */
	EVP_MD		*sha;
	EVP_MD_CTX	*md;		/* digest of the records */
	/* The writer thread and its ring (slot head..head+count-1 queued,
	 * slot head+count filling); under mu. */
	struct vw_slot	 ring[VW_RING];
	unsigned int	 head;
	unsigned int	 count;
	int		 need_switch;	/* writer thread waits for a volume */
	int		 stop;
	int		 werr;		/* the writer thread's failure */
	struct err	 we;
	int		 thr_on;
	pthread_t	 thr;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv_main;	/* to the caller's thread */
	pthread_cond_t	 cv_thr;	/* to the writer thread */
	uint64_t	 records;
	uint64_t	 bytes;
};

/* Highest serial number of the *.vol files in dir (0 if none). */
static int
highest_serial(const char *dir, int *out, struct err *e)
{
	struct dirent *de;
	DIR *d;

	*out = 0;
	if ((d = opendir(dir)) == NULL)
		return err_sys(e, COFFER_EIO, "volume directory %s: open", dir);
	while ((de = readdir(d)) != NULL) {
		int const n = vol_serial_number(de->d_name);

		if (n > *out)
			*out = n;
	}
	closedir(d);
	return 0;
}

/*
 * Register serial n, then create its file; COFFER_EEXIST: the serial is
 * taken, in the caller's history or in this directory.
 */
static int
try_serial(struct vol_writer *w, unsigned int n, struct vol_dev **dev,
    char *serial, char *path, struct err *e)
{
	int r;

	/* n <= SERIAL_MAX; the modulo tells the compiler so. */
	snprintf(serial, VOL_SERIAL_LEN + 1, "%c%05u", VOL_SERIAL_PREFIX,
	    n % (SERIAL_MAX + 1u));
	if (snprintf(path, PATH_LEN, "%s/%s.vol", w->dir, serial) >= PATH_LEN)
		return err_set(e, COFFER_EINVAL, "volume directory %s: path "
		    "too long", w->dir);
	if (w->on_new != NULL &&
	    (r = w->on_new(w->arg, path, serial, w->nvols + 1, e)) != 0)
		return r;
	if ((r = vol_dev_file_create(path, w->maxcap, VOL_EW_RESERVE, dev,
	    e)) == 0 && (r = util_fsync_dir(w->dir, e)) != 0) {
		vol_dev_close(*dev, NULL);
		*dev = NULL;
		unlink(path);
	}
	if (r != 0 && w->on_drop != NULL)
		w->on_drop(w->arg, serial);
	return r;
}

/* Create and register the next volume file: *dev, its serial and path. */
static int
create_volume(struct vol_writer *w, struct vol_dev **dev, char *serial,
    char *path, struct err *e)
{
	int n, r;

	if ((r = highest_serial(w->dir, &n, e)) != 0)
		return r;
	if (w->min_serial > 0 && (uint32_t)n < w->min_serial - 1)
		n = (int)w->min_serial - 1;
	for (n++; n <= SERIAL_MAX; n++) {
		r = try_serial(w, (unsigned int)n, dev, serial, path, e);
		if (r != COFFER_EEXIST)
			return r;
		err_clear(e);
	}
	return err_set(e, COFFER_ENOSPC, "volume directory %s: no free "
	    "volume serial (C%05d used)", w->dir, SERIAL_MAX);
}

static int
add_path(struct vol_writer *w, const char *path, struct err *e)
{
	if (w->nvols == w->cap) {
		uint32_t const cap = w->cap == 0 ? 8 : w->cap * 2;
		void *p = realloc(w->paths, (size_t)cap * PATH_LEN);

		if (p == NULL)
			return err_set(e, COFFER_ENOMEM, "volume list: out of "
			    "memory");
		w->paths = p;
		w->cap = cap;
	}
	snprintf(w->paths[w->nvols++], PATH_LEN, "%s", path);
	return 0;
}

/* Tape file 1 of the current volume: VOL1, label block, tapemark. */
static int
write_label(struct vol_writer *w, struct err *e)
{
	uint8_t vol1[VOL_VOL1_LEN], lab[VOL_LABEL_LEN];
	int r;

	memset(w->lab.tag, 0, sizeof(w->lab.tag));
	vol_label_encode(lab, &w->lab);
	if (w->crypt != NULL) {
		if ((r = vol_crypt_seal(w->crypt, VOL_CTR_LABEL | w->lab.seq,
		    lab, VOL_LABEL_TAGGED, NULL, 0, w->lab.tag, e)) != 0)
			return r;
		vol_label_encode(lab, &w->lab);
	}
	vol_vol1_encode(vol1, w->lab.serial);
	if ((r = w->dev->ops->write_block(w->dev, vol1, sizeof(vol1), e)) < 0 ||
	    (r = w->dev->ops->write_block(w->dev, lab, sizeof(lab), e)) < 0 ||
	    (r = w->dev->ops->write_tapemark(w->dev, e)) != 0)
		return r;
	return 0;
}

/* Make a new (created, registered) volume current: its label. */
static int
begin_volume(struct vol_writer *w, struct vol_dev *dev, const char *serial,
    const char *path, struct err *e)
{
	int r;

	w->dev = dev;
	w->lab.seq = w->nvols + 1;
	w->lab.first_block = w->next_block;
	snprintf(w->lab.serial, sizeof(w->lab.serial), "%s", serial);
	w->vol_blocks = 0;
	w->ew = 0;
	if ((r = add_path(w, path, e)) != 0) {
		unlink(path);
		return r;
	}
	return write_label(w, e);
}

/* Tape file 3 and the end of data; then fsync and close (invariant 1). */
static int
end_volume(struct vol_writer *w, uint32_t kind, const char *next,
    struct err *e)
{
	uint8_t b[VOL_END_LEN];
	struct vol_end x;
	int r;

	memset(&x, 0, sizeof(x));
	x.kind = kind;
	memcpy(x.set_uuid, w->lab.set_uuid, 16);
	x.seq = w->lab.seq;
	x.blocks = w->vol_blocks;
	x.first_block = w->lab.first_block;
	if (next != NULL)
		snprintf(x.next_serial, sizeof(x.next_serial), "%s", next);
	vol_end_encode(b, &x);
	if (w->crypt != NULL) {
		if ((r = vol_crypt_seal(w->crypt, VOL_CTR_END | x.seq, b,
		    VOL_END_TAGGED, NULL, 0, x.tag, e)) != 0)
			return r;
		vol_end_encode(b, &x);
	}
	if ((r = w->dev->ops->write_tapemark(w->dev, e)) != 0 ||
	    (r = w->dev->ops->write_block(w->dev, b, sizeof(b), e)) < 0 ||
	    (r = w->dev->ops->write_tapemark(w->dev, e)) != 0 ||
	    (r = w->dev->ops->write_tapemark(w->dev, e)) != 0 ||
	    (r = w->dev->ops->sync(w->dev, e)) != 0)
		return r;
	r = vol_dev_close(w->dev, e);
	w->dev = NULL;
	return r;
}

/* The early warning came: the next block goes on a new volume. */
static int
switch_volume(struct vol_writer *w, struct err *e)
{
	char serial[VOL_SERIAL_LEN + 1], path[PATH_LEN];
	struct vol_dev *dev = NULL;
	int r;

	if ((r = create_volume(w, &dev, serial, path, e)) != 0)
		return r;
	if ((r = end_volume(w, VOL_END_EOV, serial, e)) != 0) {
		vol_dev_close(dev, NULL);
		unlink(path);
		if (w->on_drop != NULL)
			w->on_drop(w->arg, serial);
		return r;
	}
	return begin_volume(w, dev, serial, path, e);
}

/*
 * Writer thread: digest, seal and write one queued block (never the
 * volume change, which waits for the caller's thread).
 */
static int
write_slot(struct vol_writer *w, struct vw_slot *sl, struct err *e)
{
	size_t const tag = w->crypt != NULL ? VOL_TAG_LEN : 0;
	uint8_t *const h = sl->p;
	uint8_t aad[20 + 16];
	size_t n;
	int r;

	if (w->next_block >= VOL_CTR_DATA_MAX)
		return err_set(e, COFFER_ETOOBIG, "volume set: too many blocks");
	memcpy(h, VOL_DATA_MAGIC, 4);
	util_put_le32(h + 4, w->lab.seq);
	util_put_le64(h + 8, w->next_block);
	util_put_le32(h + 16, (uint32_t)sl->fill);
	if (w->crypt != NULL) {
		/* AAD: the header (volume, block number, length) and the set. */
		memcpy(aad, h, 20);
		memcpy(aad + 20, w->lab.set_uuid, 16);
		if ((r = vol_crypt_seal(w->crypt, w->next_block, aad,
		    sizeof(aad), h + VOL_DATA_HDR_LEN, sl->fill,
		    h + VOL_DATA_HDR_LEN + sl->fill, e)) != 0)
			return r;
	}
	n = VOL_DATA_HDR_LEN + sl->fill + tag;
	util_put_le32(h + 20, crc32c(crc32c(0, h, 20), h + VOL_DATA_HDR_LEN,
	    n - VOL_DATA_HDR_LEN));
	if ((r = w->dev->ops->write_block(w->dev, h, n, e)) < 0)
		return r;
	w->ew = r == VOL_DEV_EW;
	w->next_block++;
	w->vol_blocks++;
	return 0;
}

static void *
writer_main(void *arg)
{
	struct vol_writer *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct vw_slot *sl;
		int r;

		while (!w->stop && (w->count == 0 || w->werr != 0 ||
		    w->need_switch))
			pthread_cond_wait(&w->cv_thr, &w->mu);
		if (w->stop)
			break;
		if (w->ew) {
			/* This block opens the next volume: the caller's
			 * thread makes it (switch_volume). */
			w->need_switch = 1;
			pthread_cond_signal(&w->cv_main);
			continue;
		}
		sl = &w->ring[w->head];
		pthread_mutex_unlock(&w->mu);
		r = write_slot(w, sl, &w->we);
		pthread_mutex_lock(&w->mu);
		if (r != 0) {
			w->werr = r;
		} else {
			w->head = (w->head + 1) % VW_RING;
			w->count--;
		}
		pthread_cond_signal(&w->cv_main);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/*
 * Caller's thread, mu held: wait until until(w) holds, changing the
 * volume when the writer thread asks; a failure of the writer thread
 * is returned (and the writer is broken).
 */
static int
wait_writer(struct vol_writer *w, int (*until)(const struct vol_writer *),
    struct err *e)
{
	int r;

	for (;;) {
		if (w->werr != 0) {
			w->broken = 1;
			if (e != NULL)
				*e = w->we;
			return w->werr;
		}
		if (w->need_switch) {
			/* The writer thread waits: the volume is ours. */
			pthread_mutex_unlock(&w->mu);
			r = switch_volume(w, e);
			pthread_mutex_lock(&w->mu);
			if (r != 0) {
				w->broken = 1;
				return r;
			}
			w->need_switch = 0;
			pthread_cond_signal(&w->cv_thr);
			continue;
		}
		if (until(w))
			return 0;
		pthread_cond_wait(&w->cv_main, &w->mu);
	}
}

static int
has_room(const struct vol_writer *w)
{
	return w->count < VW_RING - 1;
}

static int
is_idle(const struct vol_writer *w)
{
	return w->count == 0;
}

/* Queue the block being filled (w->fill payload bytes); take the next. */
static int
flush_block(struct vol_writer *w, struct err *e)
{
	struct vw_slot *sl;
	int r;

	if (w->fill == 0)
		return 0;
	pthread_mutex_lock(&w->mu);
	if ((r = wait_writer(w, has_room, e)) == 0) {
		sl = &w->ring[(w->head + w->count) % VW_RING];
		sl->fill = w->fill;
		w->count++;
		pthread_cond_signal(&w->cv_thr);
		w->blk = w->ring[(w->head + w->count) % VW_RING].p;
		w->fill = 0;
	}
	pthread_mutex_unlock(&w->mu);
	return r;
}

/* Every queued block written (and any volume change made). */
static int
drain(struct vol_writer *w, struct err *e)
{
	int r;

	pthread_mutex_lock(&w->mu);
	r = wait_writer(w, is_idle, e);
	pthread_mutex_unlock(&w->mu);
	return r;
}

static void
stop_writer(struct vol_writer *w)
{
	if (!w->thr_on)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->cv_thr);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thr, NULL);
	w->thr_on = 0;
}

static int
start_writer(struct vol_writer *w, struct err *e)
{
	for (unsigned int i = 0; i < VW_RING; i++)
		if ((w->ring[i].p = malloc(VOL_DEV_BLOCK_MAX)) == NULL)
			return err_set(e, COFFER_ENOMEM, "volume writer: out of "
			    "memory");
	w->blk = w->ring[0].p;
	if (pthread_create(&w->thr, NULL, writer_main, w) != 0)
		return err_set(e, COFFER_EINTERNAL, "volume writer: "
		    "pthread_create failed");
	w->thr_on = 1;
	return 0;
}

static int
stream_put(struct vol_writer *w, const void *p, size_t n, struct err *e)
{
	const uint8_t *s = p;
	int r;

	while (n > 0) {
		size_t const k = n < VOL_DATA_MAX - w->fill ? n :
		    VOL_DATA_MAX - w->fill;

		memcpy(w->blk + VOL_DATA_HDR_LEN + w->fill, s, k);
		w->fill += k;
		s += k;
		n -= k;
		if (w->fill == VOL_DATA_MAX && (r = flush_block(w, e)) != 0)
			return r;
	}
	return 0;
}

static int
check_params(const struct vol_write_params *p, struct err *e)
{
	if (p->dir == NULL || p->dir[0] == '\0' ||
	    strlen(p->dir) + 16 >= PATH_LEN)
		return err_set(e, COFFER_EINVAL, "volume writer: no or too "
		    "long a directory");
	if (p->maxcap < ((uint64_t)1 << 20))
		return err_set(e, COFFER_EINVAL, "volume writer: maximum "
		    "capacity %llu is below 1 MiB",
		    (unsigned long long)p->maxcap);
	if (p->kind != VOL_KIND_EXPORT && p->kind != VOL_KIND_DBBACKUP)
		return err_set(e, COFFER_EINVAL, "volume writer: kind %d",
		    p->kind);
	if (p->server == NULL || strlen(p->server) > VOL_SERVER_MAX)
		return err_set(e, COFFER_EINVAL, "volume writer: server name "
		    "missing or longer than %d bytes", VOL_SERVER_MAX);
	if (p->passphrase != NULL && p->passphrase[0] == '\0')
		return err_set(e, COFFER_EINVAL, "volume writer: empty "
		    "passphrase");
	return 0;
}

/* The set's label template: fresh UUID (version 4), salt, key check. */
static int
init_label(struct vol_writer *w, const struct vol_write_params *p,
    struct err *e)
{
	struct vol_label *l = &w->lab;
	int r;

	l->version = VOL_FORMAT_VERSION;
	l->block_size = VOL_DEV_BLOCK_MAX;
	l->created = (uint64_t)time(NULL);
	l->kind = (uint32_t)p->kind;
	snprintf(l->server, sizeof(l->server), "%s", p->server);
	if (RAND_bytes(l->set_uuid, 16) != 1 ||
	    RAND_bytes(l->salt, VOL_SALT_LEN) != 1)
		return err_set(e, COFFER_EINTERNAL, "volume writer: "
		    "RAND_bytes failed");
	l->set_uuid[6] = (uint8_t)((l->set_uuid[6] & 0x0f) | 0x40);
	l->set_uuid[8] = (uint8_t)((l->set_uuid[8] & 0x3f) | 0x80);
	if (p->passphrase == NULL) {
		memset(l->salt, 0, sizeof(l->salt));
		return 0;
	}
	l->flags = VOL_LABEL_F_ENCRYPTED;
	l->cipher = VOL_CIPHER_AES256GCM;
	l->kdf = VOL_KDF_SCRYPT;
	l->log_n = VOL_KDF_LOG_N;
	l->r = VOL_KDF_R;
	l->p = VOL_KDF_P;
	if ((r = vol_crypt_new(p->passphrase, l->salt, l->log_n, l->r, l->p,
	    l->set_uuid, &w->crypt, e)) != 0)
		return r;
	return vol_crypt_kcv(w->crypt, l->kcv, e);
}

int
vol_writer_open(const struct vol_write_params *p, struct vol_writer **out,
    struct err *e)
{
	char serial[VOL_SERIAL_LEN + 1], path[PATH_LEN];
	struct vol_writer *w = NULL;
	struct vol_dev *dev = NULL;
	int r;

	*out = NULL;
	if ((r = check_params(p, e)) != 0)
		return r;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return err_set(e, COFFER_ENOMEM, "volume writer: out of memory");
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv_main, NULL);
	pthread_cond_init(&w->cv_thr, NULL);
	snprintf(w->dir, sizeof(w->dir), "%s", p->dir);
	w->maxcap = p->maxcap;
	w->on_new = p->on_new;
	w->arg = p->arg;
	w->on_drop = p->on_drop;
	w->min_serial = p->min_serial;
	if ((w->sha = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    (w->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex2(w->md, w->sha, NULL) != 1) {
		r = err_set(e, COFFER_EINTERNAL, "volume writer: SHA-256");
		goto out;
	}
	if ((r = init_label(w, p, e)) != 0 ||
	    (r = create_volume(w, &dev, serial, path, e)) != 0)
		goto out;
	if ((r = begin_volume(w, dev, serial, path, e)) != 0 ||
	    (r = start_writer(w, e)) != 0)
		goto out;
	*out = w;
	w = NULL;
	r = 0;
out:
	vol_writer_abort(w);
	return r;
}

int
vol_write_record2(struct vol_writer *w, uint8_t type, const void *a,
    size_t alen, const void *b, size_t blen, struct err *e)
{
	uint8_t hdr[VOL_REC_HDR_LEN];
	int r;

	if (w->broken)
		return err_set(e, COFFER_EINVAL, "volume writer: an earlier "
		    "write failed");
	if (type == VOL_REC_TRAILER)
		return err_set(e, COFFER_EINVAL, "volume writer: record type "
		    "0 is reserved for the session trailer");
	if (alen > VOL_RECORD_MAX || blen > VOL_RECORD_MAX - alen)
		return err_set(e, COFFER_ETOOBIG, "volume writer: record type "
		    "%u: %zu bytes exceed the limit %u", type, alen + blen,
		    VOL_RECORD_MAX);
	hdr[0] = type;
	util_put_le32(hdr + 1, (uint32_t)(alen + blen));
	if (EVP_DigestUpdate(w->md, hdr, sizeof(hdr)) != 1 ||
	    (alen > 0 && EVP_DigestUpdate(w->md, a, alen) != 1) ||
	    (blen > 0 && EVP_DigestUpdate(w->md, b, blen) != 1)) {
		w->broken = 1;
		return err_set(e, COFFER_EINTERNAL, "volume writer: SHA-256");
	}
	if ((r = stream_put(w, hdr, sizeof(hdr), e)) != 0 ||
	    (alen > 0 && (r = stream_put(w, a, alen, e)) != 0) ||
	    (blen > 0 && (r = stream_put(w, b, blen, e)) != 0)) {
		w->broken = 1;
		return r;
	}
	w->records++;
	w->bytes += alen + blen;
	return 0;
}

int
vol_write_record(struct vol_writer *w, uint8_t type, const void *p,
    size_t n, struct err *e)
{
	return vol_write_record2(w, type, p, n, NULL, 0, e);
}

/* The session trailer: records, payload bytes, digest; then the end. */
static int
finish(struct vol_writer *w, uint8_t digest[32], struct err *e)
{
	uint8_t t[VOL_REC_HDR_LEN + VOL_TRAILER_LEN];
	unsigned int dlen;
	int r;

	if (EVP_DigestFinal_ex(w->md, digest, &dlen) != 1)
		return err_set(e, COFFER_EINTERNAL, "volume writer: SHA-256");
	t[0] = VOL_REC_TRAILER;
	util_put_le32(t + 1, VOL_TRAILER_LEN);
	util_put_le64(t + 5, w->records);
	util_put_le64(t + 13, w->bytes);
	memcpy(t + 21, digest, 32);
	if ((r = stream_put(w, t, sizeof(t), e)) != 0 ||
	    (r = flush_block(w, e)) != 0 ||
	    (r = drain(w, e)) != 0 ||
	    (r = end_volume(w, VOL_END_EOS, NULL, e)) != 0 ||
	    (r = util_fsync_dir(w->dir, e)) != 0)	/* invariant (3) */
		return r;
	return 0;
}

static int
fill_info(const struct vol_writer *w, const uint8_t digest[32],
    struct vol_set_info *info, struct err *e)
{
	memset(info, 0, sizeof(*info));
	if ((info->paths = malloc((size_t)w->nvols * PATH_LEN)) == NULL)
		return err_set(e, COFFER_ENOMEM, "volume list: out of memory");
	memcpy(info->paths, w->paths, (size_t)w->nvols * PATH_LEN);
	memcpy(info->set_uuid, w->lab.set_uuid, 16);
	info->nvols = w->nvols;
	info->records = w->records;
	info->bytes = w->bytes;
	memcpy(info->digest, digest, 32);
	return 0;
}

/* The writer thread stopped, what is left freed (no file touched). */
static void
free_writer(struct vol_writer *w)
{
	stop_writer(w);
	for (unsigned int i = 0; i < VW_RING; i++)
		free(w->ring[i].p);
	pthread_cond_destroy(&w->cv_thr);
	pthread_cond_destroy(&w->cv_main);
	pthread_mutex_destroy(&w->mu);
	EVP_MD_CTX_free(w->md);
	EVP_MD_free(w->sha);
	vol_crypt_free(w->crypt);
	free(w->paths);
	free(w);
}

int
vol_writer_close(struct vol_writer *w, struct vol_set_info *info,
    struct err *e)
{
	uint8_t digest[32];
	int r;

	if (info != NULL)
		memset(info, 0, sizeof(*info));
	if (w == NULL)
		return err_set(e, COFFER_EINVAL, "volume writer: NULL");
	if (w->broken) {
		r = err_set(e, COFFER_EINVAL, "volume writer: an earlier "
		    "write failed; the set is removed");
		goto out;
	}
	if ((r = finish(w, digest, e)) != 0 ||
	    (info != NULL && (r = fill_info(w, digest, info, e)) != 0))
		goto out;
	r = 0;
out:
	if (r != 0) {
		vol_writer_abort(w);	/* invariant (3) */
		return r;
	}
	free_writer(w);
	return 0;
}

void
vol_writer_abort(struct vol_writer *w)
{
	if (w == NULL)
		return;
	stop_writer(w);		/* before its device goes */
	vol_dev_close(w->dev, NULL);
	for (uint32_t i = 0; i < w->nvols; i++)
		unlink(w->paths[i]);
	if (w->nvols > 0)
		util_fsync_dir(w->dir, NULL);
	free_writer(w);
}

void
vol_set_info_free(struct vol_set_info *i)
{
	if (i == NULL)
		return;
	free(i->paths);
	i->paths = NULL;
	i->nvols = 0;
}

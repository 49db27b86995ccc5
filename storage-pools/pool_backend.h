/*
 * pool_backend.h - where container bytes live.
 *
 * A container is an append-only byte object named by a 64-bit id.  The
 * directory backend keeps one file per container; an S3 backend (Ceph RGW)
 * and a fault-injecting backend for tests implement the same table.  All
 * functions return 0 or a COFFER_E* code with e set.
 *
 * The pool calls write() only at the current end of a container, and
 * sync() before it commits an index transaction naming those bytes: after
 * sync() returns, the bytes and the container's existence are durable.
 *
 * A backend with POOL_BE_SEAL_ON_SYNC (the cloud backend: S3 objects are
 * written whole) seals a container in sync(): it takes no more writes,
 * and the pool starts a new container for what comes next.  sync() of a
 * container already sealed does nothing and succeeds.
 */
#ifndef COFFER_POOL_BACKEND_H
#define COFFER_POOL_BACKEND_H

#include <stddef.h>
#include <stdint.h>

struct err;
struct pool_backend;

#define POOL_BE_SEAL_ON_SYNC	0x1

struct pool_backend_ops {
	const char *name;
	unsigned flags;		/* POOL_BE_* */
	int	(*create)(struct pool_backend *b, uint64_t id, struct err *e);
	int	(*write)(struct pool_backend *b, uint64_t id, uint64_t off,
		    const void *p, size_t n, struct err *e);
	int	(*sync)(struct pool_backend *b, uint64_t id, struct err *e);
	int	(*read)(struct pool_backend *b, uint64_t id, uint64_t off,
		    void *p, size_t n, struct err *e);
	int	(*size)(struct pool_backend *b, uint64_t id, uint64_t *size,
		    struct err *e);
	int	(*truncate)(struct pool_backend *b, uint64_t id, uint64_t size,
		    struct err *e);
	int	(*remove)(struct pool_backend *b, uint64_t id, struct err *e);
	/* All container ids present, in any order; *ids is malloc'd. */
	int	(*list)(struct pool_backend *b, uint64_t **ids, size_t *n,
		    struct err *e);
	void	(*close)(struct pool_backend *b);
	/*
	 * Optional (NULL: no such hint): start reading container id into
	 * memory in the background, because most of it will be read soon.
	 * A hint only; it reports nothing and may do nothing.
	 */
	void	(*willneed)(struct pool_backend *b, uint64_t id);
};

/* Implementations embed this as their first member. */
struct pool_backend {
	const struct pool_backend_ops *ops;
};

/* Containers as files DIR/containers/XX/ID.ctr (XX: low byte of ID). */
struct pool_backend *pool_backend_dir_open(const char *dir, struct err *e);

/* The file name the directory backend uses for a container. */
void pool_backend_dir_path(const char *dir, uint64_t id, char *buf,
    size_t len);

/*
 * Containers as S3 objects PREFIX%016x.ctr in the bucket of sc; the open
 * container is staged in files under staging (leftovers there are
 * removed: nothing indexed names them).  Only with libcurl (HAVE_S3).
 */
struct s3_conf;
struct s3;
struct pool_backend *pool_backend_cloud_open(const struct s3_conf *sc,
    const char *staging, const char *prefix, struct err *e);
/* The backend's S3 client (NULL for another backend). */
struct s3 *pool_backend_cloud_s3(struct pool_backend *b);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * The shm driver: one POSIX shared-memory object per member,
 * /dev/shm/gale.<group>.<id>, created and written by its owner only and
 * mapped read-only by every peer (a peer cannot corrupt another's ring).
 *
 * Ownership: the owner holds an exclusive flock(2) on its object for life;
 * the kernel drops it when the process dies, however it dies. An object
 * nobody holds locked was left by a dead process: its id may be reused, and
 * peers do not attach to it.
 *
 * Liveness: each peer's process is watched through a pidfd, which becomes
 * readable the moment the process exits (zombie or not); where pidfd_open is
 * missing, kill(pid, 0) is the fallback.
 *
 * State transfer: the member that gives a joiner its state writes it to
 * /dev/shm/gale.<group>.state.<epoch> (under a temporary name, renamed when
 * complete, so a reader sees all of it or nothing); the joiner copies it.
 * The writer removes it when it publishes the next one or closes.
 */
#include "drivers/drv.h"

#include "base/compiler.h"
#include "gale/gale.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SHM_MAGIC 0x314d4853454c4147ull /* "GALESHM1" */
#define SHM_VERSION 1

/* The driver's header at the front of each region (DRV_REGION_HDR_BYTES). */
struct shm_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t member_id;
	uint64_t region_bytes;
	uint64_t conf_hash;
	int32_t pid;
	uint32_t pad;
	/* R0: release-stored last by publish(); pairs with A0 in attach(). */
	_Atomic uint32_t ready;
};
static_assert(sizeof(struct shm_hdr) <= DRV_REGION_HDR_BYTES, "shm header too large");

struct shm_peer {
	const struct shm_hdr *hdr; /* whole region, read-only; NULL until attached */
	int pidfd;		   /* -1: use kill(pid, 0) */
	int32_t pid;
};

struct drv {
	struct drv_conf conf;
	char group[GALE_NAME_MAX + 1];
	char path[96];
	struct shm_hdr *own;
	int own_fd; /* kept open: it holds the ownership lock */
	struct shm_peer peers[GALE_MAX_MEMBERS];
	uint32_t peer_ids[GALE_MAX_MEMBERS];
	unsigned n_peers;
	uint64_t state_epoch; /* of the state object this member published last (0: none) */
};

#define STATE_MAGIC 0x3154535445414c47ull /* "GLAESTT1" */

struct state_hdr {
	uint64_t magic;
	uint64_t epoch;
	uint64_t len;
	uint32_t from_id;
	uint32_t pad;
};

static void
state_name(char *buf, size_t n, const char *group, uint64_t epoch, const char *suffix)
{
	snprintf(buf, n, "/dev/shm/gale.%s.state.%llu%s", group, (unsigned long long)epoch, suffix);
}

static void
state_remove(struct drv *d)
{
	if (!d->state_epoch)
		return;
	char path[128];
	state_name(path, sizeof(path), d->group, d->state_epoch, "");
	unlink(path);
	d->state_epoch = 0;
}

static int
shm_state_publish(struct drv *d, uint64_t epoch, const void *data, size_t len)
{
	char tmp[128], path[128];
	state_name(tmp, sizeof(tmp), d->group, epoch, ".tmp");
	state_name(path, sizeof(path), d->group, epoch, "");
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	struct state_hdr h = {
		.magic = STATE_MAGIC, .epoch = epoch, .len = len, .from_id = d->conf.my_id
	};
	int rc = 0;
	const uint8_t *p = data;
	size_t off = 0;
	if (write(fd, &h, sizeof(h)) != (ssize_t)sizeof(h))
		rc = -EIO;
	while (!rc && off < len) {
		ssize_t n = write(fd, p + off, len - off);
		if (n <= 0)
			rc = n < 0 ? -errno : -EIO;
		else
			off += (size_t)n;
	}
	close(fd);
	if (!rc && rename(tmp, path) != 0)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		return rc;
	}
	state_remove(d); /* the previous one: its joiners have it or are gone */
	d->state_epoch = epoch;
	return 0;
}

static int
shm_state_fetch(struct drv *d, uint64_t epoch, void **data, size_t *len)
{
	char path[128];
	state_name(path, sizeof(path), d->group, epoch, "");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -EAGAIN : -errno;
	struct state_hdr h;
	struct stat st;
	int rc = 0;
	if (read(fd, &h, sizeof(h)) != (ssize_t)sizeof(h) || fstat(fd, &st) != 0 ||
	    h.magic != STATE_MAGIC || h.epoch != epoch || h.len != (uint64_t)st.st_size - sizeof(h))
		rc = -EPROTO; /* not a complete state object */
	uint8_t *buf = rc ? NULL : malloc(h.len ? h.len : 1);
	if (!rc && !buf)
		rc = -ENOMEM;
	for (size_t off = 0; !rc && off < h.len;) {
		ssize_t n = read(fd, buf + off, h.len - off);
		if (n <= 0)
			rc = n < 0 ? -errno : -EIO;
		else
			off += (size_t)n;
	}
	close(fd);
	if (rc) {
		free(buf);
		return rc;
	}
	*data = buf;
	*len = h.len;
	return 0;
}

static void
obj_name(char *buf, size_t n, const char *group, uint32_t id)
{
	snprintf(buf, n, "/gale.%s.%u", group, id);
}

static int
pid_alive(int32_t pid)
{
	if (pid <= 0)
		return 0;
	return kill(pid, 0) == 0 || errno == EPERM;
}

/* An existing object for this id: refuse if its owner lives (holds the lock), else remove it. */
static int
clear_stale(const char *name)
{
	int fd = shm_open(name, O_RDONLY, 0);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	int rc = 0;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0)
		rc = errno == EWOULDBLOCK ? -EEXIST : -errno;
	else if (shm_unlink(name) != 0 && errno != ENOENT)
		rc = -errno;
	close(fd);
	return rc;
}

static int
shm_open_region(const struct drv_conf *conf, struct drv **out, void **region)
{
	struct drv *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->conf = *conf;
	snprintf(d->group, sizeof(d->group), "%s", conf->group);
	d->conf.group = d->group;
	for (unsigned i = 0; i < GALE_MAX_MEMBERS; i++)
		d->peers[i].pidfd = -1;
	obj_name(d->path, sizeof(d->path), conf->group, conf->my_id);

	int rc = clear_stale(d->path);
	if (rc < 0)
		goto fail;
	int fd = shm_open(d->path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		rc = errno == EEXIST ? -EEXIST : -errno;
		goto fail;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0 || ftruncate(fd, (off_t)conf->region_bytes) != 0) {
		rc = errno == EWOULDBLOCK ? -EEXIST : -errno;
		close(fd);
		shm_unlink(d->path);
		goto fail;
	}
	/* Populated now, so no page fault lands on the hot path later. */
	void *p = mmap(NULL, conf->region_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		       fd, 0);
	if (p == MAP_FAILED) {
		rc = -errno;
		close(fd);
		shm_unlink(d->path);
		goto fail;
	}
	d->own_fd = fd;
	d->own = p;
	d->own->magic = SHM_MAGIC;
	d->own->version = SHM_VERSION;
	d->own->member_id = conf->my_id;
	d->own->region_bytes = conf->region_bytes;
	d->own->conf_hash = conf->conf_hash;
	d->own->pid = getpid();
	*out = d;
	*region = p;
	return 0;
fail:
	free(d);
	return rc;
}

static void
shm_publish(struct drv *d)
{
	/* R0: the region's contents before this store are visible after A0. */
	atomic_store_explicit(&d->own->ready, 1, memory_order_release);
}

static struct shm_peer *
peer_slot(struct drv *d, uint32_t id, bool create)
{
	for (unsigned i = 0; i < d->n_peers; i++)
		if (d->peer_ids[i] == id)
			return &d->peers[i];
	if (!create || d->n_peers == GALE_MAX_MEMBERS)
		return NULL;
	d->peer_ids[d->n_peers] = id;
	return &d->peers[d->n_peers++];
}

static int
shm_attach(struct drv *d, uint32_t id, const void **region)
{
	if (id == d->conf.my_id) {
		*region = d->own;
		return 0;
	}
	struct shm_peer *p = peer_slot(d, id, true);
	if (!p)
		return -ENOSPC;
	if (p->hdr) {
		*region = p->hdr;
		return 0;
	}
	char name[96];
	obj_name(name, sizeof(name), d->group, id);
	int fd = shm_open(name, O_RDONLY, 0);
	if (fd < 0)
		return errno == ENOENT ? -EAGAIN : -errno;
	struct stat st;
	int rc = -EAGAIN;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto out;
	}
	if ((uint64_t)st.st_size < sizeof(struct shm_hdr))
		goto out; /* being created */
	if (flock(fd, LOCK_SH | LOCK_NB) == 0)
		goto out; /* nobody owns it: left by a dead process, or not yet locked */
	const struct shm_hdr *h =
		mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (h == MAP_FAILED) {
		rc = -errno;
		goto out;
	}
	/* A0: pairs with R0; after it the peer's initialised region is visible. */
	int pidfd = -1;
	bool ready = atomic_load_explicit(&h->ready, memory_order_acquire);
	if (ready)
		pidfd = (int)syscall(SYS_pidfd_open, h->pid,
				     0); /* before the check: no pid reuse */
	if (!ready || !pid_alive(h->pid)) {
		rc = -EAGAIN; /* not ready yet, or its owner just died */
	} else if (h->magic != SHM_MAGIC || h->version != SHM_VERSION) {
		rc = -GALE_EVERSION;
	} else if (h->region_bytes != (uint64_t)st.st_size || h->member_id != id ||
		   h->region_bytes != d->conf.region_bytes || h->conf_hash != d->conf.conf_hash) {
		rc = -GALE_ECONFIG;
	} else {
		p->hdr = h;
		p->pid = h->pid;
		p->pidfd = pidfd;
		pidfd = -1;
		*region = h;
		rc = 0;
	}
	if (pidfd >= 0)
		close(pidfd);
	if (rc != 0)
		munmap((void *)h, (size_t)st.st_size);
out:
	close(fd);
	return rc;
}

static int
shm_peer_alive(struct drv *d, uint32_t id)
{
	if (id == d->conf.my_id)
		return 1;
	struct shm_peer *p = peer_slot(d, id, false);
	if (!p || !p->hdr)
		return -EINVAL;
	if (p->pidfd >= 0) {
		struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };
		int n = poll(&pfd, 1, 0);
		if (n > 0)
			return 0; /* readable: the process has exited */
		if (n == 0)
			return 1;
	}
	return pid_alive(p->pid);
}

static int32_t
shm_peer_pid(struct drv *d, uint32_t id)
{
	if (id == d->conf.my_id)
		return getpid();
	struct shm_peer *p = peer_slot(d, id, false);
	return p ? p->pid : 0;
}

static void
shm_close(struct drv *d)
{
	state_remove(d);
	for (unsigned i = 0; i < d->n_peers; i++) {
		if (d->peers[i].hdr)
			munmap((void *)d->peers[i].hdr, d->conf.region_bytes);
		if (d->peers[i].pidfd >= 0)
			close(d->peers[i].pidfd);
	}
	if (d->own) {
		munmap(d->own, d->conf.region_bytes);
		shm_unlink(d->path);
		close(d->own_fd); /* drops the ownership lock */
	}
	free(d);
}

const struct drv_ops drv_shm_ops = {
	.name = "shm",
	.open = shm_open_region,
	.publish = shm_publish,
	.attach = shm_attach,
	.peer_alive = shm_peer_alive,
	.peer_pid = shm_peer_pid,
	.state_publish = shm_state_publish,
	.state_fetch = shm_state_fetch,
	.close = shm_close,
};

/*
 * client.h - numbers the client shares with the server's catalog.
 *
 * Object types travel in objmeta (proto.h) and are stored by the server
 * (server/cat.h CAT_OBJ_*): they are pinned there and repeated here so
 * that client code does not include server headers.
 */
#ifndef COFFER_CLIENT_H
#define COFFER_CLIENT_H

#define CLIENT_OBJ_FILE		1
#define CLIENT_OBJ_DIR		2
#define CLIENT_OBJ_SYMLINK	3
#define CLIENT_OBJ_HARDLINK	4	/* link = the first path of the inode */
#define CLIENT_OBJ_VMCONF	5	/* a VM's domain XML */
#define CLIENT_OBJ_VMDISK	6	/* a VM's disk image; link = its path */

/* Object states in objmeta. */
#define CLIENT_INACTIVE		0
#define CLIENT_ACTIVE		1

/* "file", "dir", ... for messages and JSON; never NULL. */
const char *client_type_name(int type);

#endif

/*
 * client.c - names of the client's shared numbers (see client.h).
 */
#include "config.h"

#include "client.h"

const char *
client_type_name(int type)
{
	switch (type) {
	case CLIENT_OBJ_FILE:		return "file";
	case CLIENT_OBJ_DIR:		return "dir";
	case CLIENT_OBJ_SYMLINK:	return "symlink";
	case CLIENT_OBJ_HARDLINK:	return "hardlink";
	case CLIENT_OBJ_VMCONF:		return "vm-config";
	case CLIENT_OBJ_VMDISK:		return "vm-disk";
	}
	return "unknown";
}

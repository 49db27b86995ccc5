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
	case 5:				return "vm-config";
	case 6:				return "vm-disk";
	}
	return "unknown";
}

/*
 * obj_proto.c - a catalog version as it travels (obj_proto.h).
 */
#include "config.h"

#include <string.h>

#include "cat.h"
#include "obj_proto.h"
#include "proto.h"

void
obj_proto_from_cat(struct proto_obj *po, const struct cat_obj *o)
{
	memset(po, 0, sizeof(*po));
	po->id = o->id;
	po->type = (uint8_t)o->type;
	po->state = (uint8_t)o->state;
	po->path = o->path;
	po->path_len = strlen(o->path);
	po->size = o->size;
	po->mode = o->mode;
	po->uid = o->uid;
	po->gid = o->gid;
	po->mtime_ns = o->mtime_ns;
	po->ctime_ns = o->ctime_ns;
	po->inserted = o->inserted;
	po->deactivated = o->deactivated;
	memcpy(po->uuid, o->uuid, sizeof(po->uuid));
	po->link = o->link;
	po->link_len = o->link != NULL ? strlen(o->link) : 0;
	po->recipe = o->recipe;
	po->recipe_len = o->recipe_len;
}

/*
 * obj_proto.h - a catalog version as it travels: struct cat_obj (cat.h)
 * into struct proto_obj (proto.h), for restore listings, replication and
 * export.  The proto_obj points into the cat_obj's strings and recipe.
 */
#ifndef COFFER_OBJ_PROTO_H
#define COFFER_OBJ_PROTO_H

struct cat_obj;
struct proto_obj;

void obj_proto_from_cat(struct proto_obj *po, const struct cat_obj *o);

#endif

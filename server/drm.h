/*
 * drm.h - the DRM media states of sequential volumes (TSM's MOVE DRMEDIA)
 * and the moves between them.  The states are CAT_DRM_* (cat.h, stored);
 * this module names them, parses them and says which moves are allowed.
 *
 *               +-------------------------------+
 *               |                               v
 *   MOUNTABLE --+-> NOTMOUNTABLE --> COURIER --> VAULT
 *      ^        |                      ^        ^  |
 *      |        +----------------------+        |  |
 *      |             NOTMOUNTABLE --------------+  v
 *   ONSITERETRIEVE <-- COURIERRETRIEVE <-- VAULTRETRIEVE
 *      ^                                       |
 *      +---------------------------------------+
 *
 * Moves (from -> to; the first target is TOSTATE's default, TSM's):
 *   MOUNTABLE        -> NOTMOUNTABLE, COURIER, VAULT
 *   NOTMOUNTABLE     -> COURIER, VAULT
 *   COURIER          -> VAULT
 *   VAULT            -> VAULTRETRIEVE
 *   VAULTRETRIEVE    -> COURIERRETRIEVE, ONSITERETRIEVE
 *   COURIERRETRIEVE  -> ONSITERETRIEVE
 *   ONSITERETRIEVE   -> MOUNTABLE
 *
 * Two of these TSM makes by itself rather than by MOVE DRMEDIA: a vaulted
 * volume becomes VAULTRETRIEVE when its data expires (DELETE VOLHISTORY,
 * DRMDBBACKUPEXPIREDAYS), and an ONSITERETRIEVE volume goes back to
 * scratch.  Coffer does not expire volumes yet, so both are moves an
 * administrator makes.
 */
#ifndef COFFER_DRM_H
#define COFFER_DRM_H

#include <stddef.h>

/* "MOUNTABLE", ... ; "?" for a number that is no state. */
const char *drm_state_name(int state);
/*
 * The state s names, abbreviated as TSM allows (MOuntable, NOTMOuntable,
 * COUrier, VAult, VAULTRetrieve, COURIERRetrieve, ONSITERetrieve), any
 * case; -1 when it names none or is ambiguous.
 */
int drm_state_parse(const char *s);
/* 1 when a volume in from may move to to, else 0. */
int drm_move_allowed(int from, int to);
/* TOSTATE's default for a volume in from (its next state). */
int drm_default_target(int from);
/* "COURIER, VAULT": the states from may move to, into buf. */
const char *drm_targets(int from, char *buf, size_t len);
/* The location a volume takes in state to when none is given. */
const char *drm_default_location(int to);

#endif

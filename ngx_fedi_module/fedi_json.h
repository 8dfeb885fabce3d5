/*
 * Copyright (C) ngx_fedi authors
 *
 * Streaming JSON writer.  Pure C, no nginx types: responses are written
 * into a list of chunks that the nginx glue turns into a buffer chain, so
 * a large page is never copied or reallocated.  Unit-tested and fuzzed
 * under t/unit and t/fuzz.
 *
 * Commas come by themselves.  Misuse sets error: a value in an object
 * without its key, a key outside an object or after a key, a close that
 * does not match what is open, more than FEDI_JSON_MAX_DEPTH levels.
 * After an error (or a failed allocation) nothing more is written and
 * fedi_json_flatten() returns -1.  chunk_size may be set after init; it
 * doubles with each new chunk up to 64 KB, and a string larger than a
 * chunk continues in the next one.
 *
 * Strings: '"' and '\' escaped, \b \f \n \r \t, the other controls and
 * DEL as \u00XX, U+2028 and U+2029 as \u2028 and \u2029 (safe inside a
 * <script>), valid UTF-8 as it is, and each maximal invalid subpart
 * (overlong, surrogate, above U+10FFFF, cut short, stray continuation
 * byte) as one U+FFFD, as the WHATWG decoder reads it.  Doubles: the
 * shortest of %.15g..%.17g that reads back exactly.
 */

#ifndef _FEDI_JSON_H_INCLUDED_
#define _FEDI_JSON_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define FEDI_JSON_MAX_DEPTH   64
#define FEDI_JSON_CHUNK_SIZE  3072


typedef void *(*fedi_json_alloc_pt)(void *ctx, size_t size);

typedef struct fedi_json_chunk_s  fedi_json_chunk_t;

struct fedi_json_chunk_s {
    unsigned char      *start;
    unsigned char      *last;      /* end of written data */
    unsigned char      *end;       /* end of the allocated space */
    fedi_json_chunk_t  *next;
};


typedef struct {
    fedi_json_chunk_t  *first;
    fedi_json_chunk_t  *current;
    fedi_json_alloc_pt  alloc;     /* memory is never freed by the writer */
    void               *alloc_ctx;
    size_t              chunk_size;
    size_t              size;      /* total bytes written */
    int                 depth;
    int                 error;     /* allocation failure or misuse */
    int                 after_key;
    uint64_t            need_comma; /* bit per depth level */
    uint64_t            objects;    /* bit per depth level: an object */
} fedi_json_t;


void fedi_json_init(fedi_json_t *j, fedi_json_alloc_pt alloc, void *ctx);

/* structure */
void fedi_json_obj_open(fedi_json_t *j);
void fedi_json_obj_close(fedi_json_t *j);
/* members rendered elsewhere, "\"k\":v,...", into the open object */
void fedi_json_members(fedi_json_t *j, const unsigned char *s, size_t len);
/* an object begun elsewhere: "{" and members, no "}" (a cached start) */
void fedi_json_obj_resume(fedi_json_t *j, const unsigned char *s,
    size_t len);
void fedi_json_arr_open(fedi_json_t *j);
void fedi_json_arr_close(fedi_json_t *j);
void fedi_json_key(fedi_json_t *j, const char *key);   /* key is trusted
                                                          ASCII, no escaping */

/* values: strings are escaped; invalid UTF-8 becomes U+FFFD */
void fedi_json_str(fedi_json_t *j, const unsigned char *s, size_t len);
void fedi_json_cstr(fedi_json_t *j, const char *s);     /* NULL -> null */
void fedi_json_null(fedi_json_t *j);
void fedi_json_bool(fedi_json_t *j, int v);
void fedi_json_int(fedi_json_t *j, int64_t v);
void fedi_json_double(fedi_json_t *j, double v);        /* finite only,
                                                          else null */
void fedi_json_raw(fedi_json_t *j, const unsigned char *s, size_t len);
                                        /* already valid JSON value */

/* key + value shorthands */
void fedi_json_kstr(fedi_json_t *j, const char *key, const unsigned char *s,
    size_t len);
void fedi_json_kcstr(fedi_json_t *j, const char *key, const char *s);
void fedi_json_knull(fedi_json_t *j, const char *key);
void fedi_json_kbool(fedi_json_t *j, const char *key, int v);
void fedi_json_kint(fedi_json_t *j, const char *key, int64_t v);
void fedi_json_kraw(fedi_json_t *j, const char *key, const unsigned char *s,
    size_t len);

/* writes bytes as they are (used by the escaper and for tests) */
void fedi_json_write(fedi_json_t *j, const unsigned char *s, size_t len);

/* copies the whole output into buf (size bytes); returns bytes or -1 */
long fedi_json_flatten(fedi_json_t *j, unsigned char *buf, size_t size);


#endif /* _FEDI_JSON_H_INCLUDED_ */

/*
 * Copyright (C) ngx_fedi authors
 *
 * Request parameters.  One parser merges the query string, an
 * application/x-www-form-urlencoded body and a JSON body into one jansson
 * object, decoding Rails-style keys the way Mastodon (Rack) does:
 *
 *   a=1                        {"a": "1"}
 *   a[]=1&a[]=2                {"a": ["1", "2"]}
 *   poll[options][]=x          {"poll": {"options": ["x"]}}
 *   fields_attributes[0][name]=n   {"fields_attributes": {"0": {"name": "n"}}}
 *
 * Query values win over body values of the same name, as in Rails.
 * Pure C plus jansson, no nginx types; unit-tested and fuzzed.
 *
 * The nested keys follow Rack 3's QueryParser step for step, quirks
 * included (a[b]c=1 is {"a": {"b": {"c": "1"}}}, "a" alone is null,
 * m[][x]=1&m[][y]=2&m[][x]=3 is [{"x": "1", "y": "2"}, {"x": "3"}]).
 * Pairs are split on '&' only; an invalid percent escape stays as it is;
 * a value or a name that is not UTF-8 or holds a NUL byte is an error, so
 * every string in the result is a C string.
 */

#ifndef _FEDI_PARAMS_H_INCLUDED_
#define _FEDI_PARAMS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <jansson.h>


#define FEDI_PARAMS_MAX_KEYS    1024     /* pairs in a form or query */
#define FEDI_PARAMS_MAX_DEPTH   8        /* bracket nesting */
#define FEDI_PARAMS_MAX_JSON    (1024 * 1024)


typedef enum {
    FEDI_BODY_NONE = 0,
    FEDI_BODY_FORM,
    FEDI_BODY_JSON,
    FEDI_BODY_MULTIPART,                  /* see fedi_params_multipart() */
    FEDI_BODY_OTHER
} fedi_body_type_e;


/* classifies a Content-Type header value (parameters and case ignored) */
fedi_body_type_e fedi_params_body_type(const unsigned char *ct, size_t len);

/*
 * Returns a new object (caller owns the reference) or NULL with a
 * human-readable message in err (NUL-terminated, at most errlen bytes,
 * no control characters: fit for a 400 answer): malformed JSON, a JSON
 * body that is not an object, duplicate JSON keys, too many keys, too
 * deep, too large, a conflicting shape ("expected Hash (got String) for
 * param `a'").  An empty body, or one of type NONE, MULTIPART or OTHER,
 * adds nothing.
 */
json_t *fedi_params_parse(const unsigned char *query, size_t qlen,
    const unsigned char *body, size_t blen, fedi_body_type_e type,
    char *err, size_t errlen);

/*
 * multipart/form-data (RFC 7578): the text parts are set into params with
 * the same Rails key rules, over what is there.  Parts with a filename
 * are not values: each is reported through file() (may be NULL) with its
 * field name, filename, content type and the bytes' place in body.
 * 0, or -1 with err (no boundary, malformed, too many parts).
 */
typedef void (*fedi_params_file_pt)(void *ctx, const char *name,
    const char *filename, const char *type, size_t offset, size_t len);

int fedi_params_multipart(json_t *params, const unsigned char *ct,
    size_t ctlen, const unsigned char *body, size_t blen,
    fedi_params_file_pt file, void *ctx, char *err, size_t errlen);

/* percent-decoding of a form component ('+' is a space); returns length */
size_t fedi_params_unescape(unsigned char *dst, const unsigned char *src,
    size_t len);

/*
 * Mastodon reads booleans as Rails' ActiveModel::Type::Boolean:
 * false, 0, "0", "f", "F", "false", "FALSE", "off", "OFF" are false,
 * "" and null are "not given", everything else is true (JSON true, any
 * other number, 0.0 too as in Ruby, arrays and objects).
 * Returns 1, 0, or def when the parameter is absent, empty or null.
 */
int fedi_param_bool(json_t *params, const char *key, int def);

/*
 * The string of a string value.  A JSON integer, real or boolean is
 * printed as Ruby's to_s would ("40", "1.5", "true") and the printed
 * string replaces the value in params, so the pointer lives as long as
 * params does (and fedi_param_bool/int read the same answer from it).
 * NULL when absent, null, an array or an object.
 */
const char *fedi_param_str(json_t *params, const char *key);

/*
 * A JSON integer or a strictly decimal string ("-12", "+3"; no spaces,
 * no trailing junk; beyond int64 saturates), clamped to [min, max];
 * def when absent or anything else (reals included).
 */
int64_t fedi_param_int(json_t *params, const char *key, int64_t def,
    int64_t min, int64_t max);

/*
 * Array of strings: key as a[]=1&a[]=2 or a JSON array, else "key[]" (a
 * JSON body with Rails' names); a single string is one element.  JSON
 * integers are printed (replacing them, as fedi_param_str does), other
 * elements skipped.  Returns the number of strings written to out (at
 * most n); they live as long as params.
 */
size_t fedi_param_strs(json_t *params, const char *key, const char **out,
    size_t n);


#endif /* _FEDI_PARAMS_H_INCLUDED_ */

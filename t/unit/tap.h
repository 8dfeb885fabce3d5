/*
 * A little TAP for the C unit tests, read by prove:
 *
 *     plan(3);                          optional: done() prints it if not
 *     ok(cond, "name %d", i);
 *     is_str(got, want, "name");        NULL is a value too
 *     is_int(got, want, "name");
 *     return done();                    the exit status: 0 when all passed
 *
 * Each check returns whether it passed; a failure prints what was got and
 * what was wanted as "# " diagnostics.
 */

#ifndef _TAP_H_INCLUDED_
#define _TAP_H_INCLUDED_


#include <stdarg.h>
#include <stdio.h>
#include <string.h>


#define TAP_PRINTF(f, a)  __attribute__((format(printf, f, a)))


static int  tap_n, tap_failed, tap_planned = -1;


static inline void tap_vresult(int cond, const char *fmt, va_list args)
    TAP_PRINTF(2, 0);
static inline void tap_quote(const char *s);
static inline void plan(int n);
static inline void diag(const char *fmt, ...) TAP_PRINTF(1, 2);
static inline int ok(int cond, const char *fmt, ...) TAP_PRINTF(2, 3);
static inline int is_str(const char *got, const char *want,
    const char *fmt, ...) TAP_PRINTF(3, 4);
static inline int is_int(long long got, long long want, const char *fmt,
    ...) TAP_PRINTF(3, 4);
static inline int done(void);


static inline void
plan(int n)
{
    tap_planned = n;
    printf("1..%d\n", n);
}


static inline void
diag(const char *fmt, ...)
{
    va_list  args;

    printf("# ");
    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);
    printf("\n");
}


static inline void
tap_vresult(int cond, const char *fmt, va_list args)
{
    tap_n++;
    tap_failed += !cond;
    printf("%sok %d - ", cond ? "" : "not ", tap_n);
    vprintf(fmt, args);
    printf("\n");
    fflush(stdout);
}


/* a C string shown with its bytes outside printable ASCII as \xNN */
static inline void
tap_quote(const char *s)
{
    const unsigned char  *p;

    if (s == NULL) {
        printf("NULL");
        return;
    }

    printf("\"");

    for (p = (const unsigned char *) s; *p; p++) {
        if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\') {
            printf("\\x%02x", *p);

        } else {
            putchar(*p);
        }
    }

    printf("\"");
}


static inline int
ok(int cond, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    tap_vresult(cond, fmt, args);
    va_end(args);

    return cond;
}


static inline int
is_str(const char *got, const char *want, const char *fmt, ...)
{
    int      cond;
    va_list  args;

    cond = (got == NULL || want == NULL) ? got == want
                                         : strcmp(got, want) == 0;

    va_start(args, fmt);
    tap_vresult(cond, fmt, args);
    va_end(args);

    if (!cond) {
        printf("#   got:  ");
        tap_quote(got);
        printf("\n#   want: ");
        tap_quote(want);
        printf("\n");
    }

    return cond;
}


static inline int
is_int(long long got, long long want, const char *fmt, ...)
{
    int      cond;
    va_list  args;

    cond = got == want;

    va_start(args, fmt);
    tap_vresult(cond, fmt, args);
    va_end(args);

    if (!cond) {
        printf("#   got:  %lld\n#   want: %lld\n", got, want);
    }

    return cond;
}


static inline int
done(void)
{
    if (tap_planned < 0) {
        printf("1..%d\n", tap_n);

    } else if (tap_planned != tap_n) {
        printf("# planned %d tests but ran %d\n", tap_planned, tap_n);
        return 1;
    }

    if (tap_failed) {
        printf("# failed %d of %d\n", tap_failed, tap_n);
    }

    return tap_failed ? 1 : 0;
}


#endif /* _TAP_H_INCLUDED_ */

/*
 * A little TAP for the C unit tests: ok(cond, name), then done() prints
 * the plan and gives the exit status.  prove runs the binaries.
 */

#ifndef _TAP_H_INCLUDED_
#define _TAP_H_INCLUDED_


#include <stdio.h>


static int  tap_n, tap_failed;


static void
ok(int cond, const char *name)
{
    tap_n++;
    printf("%sok %d - %s\n", cond ? "" : "not ", tap_n, name);
    tap_failed += !cond;
}


static int
done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}


#endif /* _TAP_H_INCLUDED_ */

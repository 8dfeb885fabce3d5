/*
 * The parameter parser: the input is split into a query, a body and a
 * body type; whatever the bytes, the answer is an object or an error.
 */

#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "fedi_params.h"


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char                  err[256];
    size_t                q;
    json_t               *p;
    fedi_body_type_e      type;
    const unsigned char  *body;
    static const char     ct[] = "multipart/form-data; boundary=XyZ";

    if (size < 2) {
        return 0;
    }

    type = (fedi_body_type_e) (data[0] % 4);
    q = data[1] < size - 2 ? data[1] : size - 2;
    body = data + 2 + q;

    p = fedi_params_parse(data + 2, q, body, size - 2 - q,
                          type == FEDI_BODY_MULTIPART ? FEDI_BODY_OTHER : type,
                          err, sizeof(err));

    if (p == NULL) {
        if (err[0] == '\0') {
            abort();                    /* an error says what it is */
        }

        return 0;
    }

    if (!json_is_object(p)) {
        abort();
    }

    if (type == FEDI_BODY_MULTIPART) {
        (void) fedi_params_multipart(p, (const unsigned char *) ct,
                                     sizeof(ct) - 1, body, size - 2 - q,
                                     NULL, NULL, err, sizeof(err));
    }

    (void) fedi_param_bool(p, "a", 0);
    (void) fedi_param_int(p, "a", 0, -5, 5);
    (void) fedi_param_str(p, "a");

    {
        const char  *v[8];

        (void) fedi_param_strs(p, "a", v, 8);
    }

    json_decref(p);

    return 0;
}

/* op.c — names and flags of the op enum (op.h), and the name → op lookup pd_record uses to tag
 * nodes recorded by name. */
#include "nn/op.h"

#include <string.h>

static const struct {
    const char *name;
    int flags;
} ops[] = {
#define PD_OP_ROW_(id, name, flags) {name, flags},
    PD_OP_LIST(PD_OP_ROW_)
#undef PD_OP_ROW_
};

const char *pd_op_name(pd_op op)
{
    if (op == PD_OP_CUSTOM) return "custom";
    if (op == PD_OP_MARKER) return "unit marker";
    return op >= 0 && op < PD_OP_COUNT ? ops[op].name : NULL;
}

pd_op pd_op_from_name(const char *name)
{
    for (int i = 0; i < PD_OP_COUNT; i++)
        if (strcmp(ops[i].name, name) == 0) return (pd_op)i;
    return PD_OP_CUSTOM;
}

int pd_op_host_side(pd_op op)
{
    if (op == PD_OP_CUSTOM || op == PD_OP_MARKER) return 1;
    return op >= 0 && op < PD_OP_COUNT && (ops[op].flags & PD_OP_HOST_SIDE);
}

# SPDX-License-Identifier: MIT
# lib/mkmap.awk - the linker version script for one backend, from
# lib/libmpool.sym: awk -v backend=NAME -f lib/mkmap.awk lib/libmpool.sym
#
# Each node lists the symbols of that node the backend defines, in the
# order of the file, and inherits the node before it; the first one also
# makes every other symbol local.  A node none of whose symbols this
# backend defines is written empty, so that every build has every version.
/^[ \t]*(#|$)/ { next }
{
    node = $1; name = $2
    if (!(node in seen)) {
        seen[node] = 1
        order[++nodes] = node
    }
    wanted = (NF == 2)
    for (i = 3; i <= NF; i++)
        if ($i == backend)
            wanted = 1
    if (wanted)
        list[node] = list[node] "    " name ";\n"
}
END {
    if (backend == "") {
        print "mkmap.awk: no backend given (-v backend=NAME)" > "/dev/stderr"
        exit 1
    }
    print "/* Generated from lib/libmpool.sym for the " backend " backend. */"
    for (n = 1; n <= nodes; n++) {
        node = order[n]
        printf "%s {\n", node
        if (list[node] != "")
            printf "  global:\n%s", list[node]
        if (n == 1)
            printf "  local:\n    *;\n"
        if (n == 1)
            print "};"
        else
            printf "} %s;\n", order[n - 1]
    }
}

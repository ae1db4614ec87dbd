/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "macros.h"
#include "user-name.h"

/* Accounts every Debian/Ubuntu base system defines; a home with one of these names would shadow it. */
static const char *const reserved_names[] = {
        "root", "nobody", "nfsnobody", "daemon", "bin", "sys", "sync", "halt", "shutdown", "operator",
};

static bool char_is_alpha_or_underscore(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool user_name_is_valid_syntax(const char *name)
{
        size_t n;

        if (!name)
                return false;
        n = strlen(name);
        if (n == 0 || n > USER_NAME_LENGTH_MAX)
                return false;
        if (!char_is_alpha_or_underscore(name[0]))
                return false;
        for (size_t i = 1; i < n; i++) {
                char c = name[i];
                if (!char_is_alpha_or_underscore(c) && !(c >= '0' && c <= '9') && c != '-')
                        return false;
        }
        return true;
}

bool user_name_is_valid(const char *name)
{
        if (!user_name_is_valid_syntax(name))
                return false;
        /* systemd reserves the systemd- prefix for its own dynamic and service users, and a leading '_' is
         * the convention for system accounts on several distributions. */
        if (startswith(name, "systemd-") || name[0] == '_')
                return false;
        for (size_t i = 0; i < ELEMENTSOF(reserved_names); i++)
                if (streq(name, reserved_names[i]))
                        return false;
        return true;
}

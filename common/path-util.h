/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/* "/a/b": absolute, no empty, "." or ".." components, no trailing slash, not "/" itself, < PATH_MAX. */
bool path_is_absolute_normalized(const char *p);

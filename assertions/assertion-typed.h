/* SPDX-License-Identifier: MIT */
#pragma once

/* The typed rules of the types a device understands, run on one decoded assertion: account, account-key (and
 * the public key in its body), account-key-request (its public key), model, serial, system-user
 * (assertions/<type>.c hold the rules, with snapd's words). The trust database runs them before it stores an
 * assertion; the signing tool runs them before it signs one, so a brand cannot sign what its devices will
 * refuse. Other types pass (their syntax is the codec's). */

#include "assertion.h"

/* 0 when a satisfies its type's rules; -EBADMSG with err filled ("assertion system-user: ...") otherwise. */
int assertion_check_typed(const Assertion *a, AssertionError *err);

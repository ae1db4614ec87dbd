/* SPDX-License-Identifier: MIT */
#include "siphash24.h"

/* Written from the SipHash paper ("SipHash: a fast short-input PRF", section 2). */

static uint64_t load_le64(const uint8_t *p)
{
        uint64_t v = 0;

        for (unsigned i = 0; i < 8; i++)
                v |= (uint64_t) p[i] << (8 * i);
        return v;
}

static uint64_t rotl64(uint64_t x, unsigned b)
{
        return (x << b) | (x >> (64 - b));
}

typedef struct SipState {
        uint64_t v0, v1, v2, v3;
} SipState;

static void sip_round(SipState *s)
{
        s->v0 += s->v1;
        s->v1 = rotl64(s->v1, 13);
        s->v1 ^= s->v0;
        s->v0 = rotl64(s->v0, 32);
        s->v2 += s->v3;
        s->v3 = rotl64(s->v3, 16);
        s->v3 ^= s->v2;
        s->v0 += s->v3;
        s->v3 = rotl64(s->v3, 21);
        s->v3 ^= s->v0;
        s->v2 += s->v1;
        s->v1 = rotl64(s->v1, 17);
        s->v1 ^= s->v2;
        s->v2 = rotl64(s->v2, 32);
}

/* Two compression rounds per message word: the "2" of SipHash-2-4. */
static void sip_compress(SipState *s, uint64_t m)
{
        s->v3 ^= m;
        sip_round(s);
        sip_round(s);
        s->v0 ^= m;
}

uint64_t siphash24(const void *data, size_t size, const uint8_t key[static SIPHASH24_KEY_SIZE])
{
        const uint8_t *in = data;
        uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
        SipState s = {
                .v0 = k0 ^ UINT64_C(0x736f6d6570736575),
                .v1 = k1 ^ UINT64_C(0x646f72616e646f6d),
                .v2 = k0 ^ UINT64_C(0x6c7967656e657261),
                .v3 = k1 ^ UINT64_C(0x7465646279746573),
        };
        size_t full = size - size % 8;
        uint64_t last;

        for (size_t i = 0; i < full; i += 8)
                sip_compress(&s, load_le64(in + i));

        /* The final word holds the remaining 0..7 bytes and, in its top byte, the length mod 256. */
        last = (uint64_t) (size & 0xff) << 56;
        for (size_t i = 0; i < size % 8; i++)
                last |= (uint64_t) in[full + i] << (8 * i);
        sip_compress(&s, last);

        /* Four finalisation rounds: the "4" of SipHash-2-4. */
        s.v2 ^= 0xff;
        for (unsigned i = 0; i < 4; i++)
                sip_round(&s);
        return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

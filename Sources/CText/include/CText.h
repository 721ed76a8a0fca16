/* Byte classes of text for the tokenizer, 64 bytes at a time. Inline functions only: Swift inlines them where they
   are called. SwiftPM does not rebuild the Swift targets that import this header when it changes: touch one of their
   files (Sources/Classifier/Text.swift) after editing it. */
#ifndef CTEXT_H
#define CTEXT_H
#include <stdint.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The classes of 64 bytes of text, a bit per byte (bit i for byte i): small ASCII letters, capitals, digits, spaces,
   and bytes of 0x80 or more. */
typedef struct {
    uint64_t small, capital, digit, space, high;
} ct_classes;

#if defined(__SSE2__)
/* A bit per byte of 16 whose value lies in [low, low + count), count at most 128: a byte is in range exactly when its
   distance above low, plus 0x80, is below count plus 0x80 as a signed byte. */
static inline uint64_t ct_range16(__m128i v, uint8_t low, uint8_t count) {
    __m128i shifted = _mm_sub_epi8(v, _mm_set1_epi8((char)(low + 0x80)));
    __m128i in = _mm_cmplt_epi8(shifted, _mm_set1_epi8((char)(count - 0x80)));
    return (uint64_t)(uint16_t)_mm_movemask_epi8(in);
}
#endif

/* The classes of the 64 bytes at p (all readable). */
static inline ct_classes ct_classify64(const uint8_t *p) {
    ct_classes c = {0, 0, 0, 0, 0};
#if defined(__SSE2__)
    for (int k = 0; k < 64; k += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + k));
        c.small |= ct_range16(v, 0x61, 26) << k;
        c.capital |= ct_range16(v, 0x41, 26) << k;
        c.digit |= ct_range16(v, 0x30, 10) << k;
        c.space |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(0x20))) << k;
        c.high |= (uint64_t)(uint16_t)_mm_movemask_epi8(v) << k;
    }
#else
    for (int k = 0; k < 64; k++) {
        uint8_t b = p[k];
        uint64_t bit = (uint64_t)1 << k;
        if ((uint8_t)(b - 0x61) < 26) c.small |= bit;
        if ((uint8_t)(b - 0x41) < 26) c.capital |= bit;
        if ((uint8_t)(b - 0x30) < 10) c.digit |= bit;
        if (b == 0x20) c.space |= bit;
        if (b >= 0x80) c.high |= bit;
    }
#endif
    return c;
}
#endif

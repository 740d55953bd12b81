// Image decoding and encoding through libpng and libjpeg(-turbo), with their longjmp-based
// error handling contained here: every function returns 0 on success or a non-zero code with a
// human-readable message, so Swift (which cannot setjmp) never sees a longjmp.
#ifndef DDPM_CIMAGESHIM_H
#define DDPM_CIMAGESHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Size of the message buffer every call fills on failure.
#define DDPM_IMAGE_MESSAGE_BYTES 256

/// Return codes.
enum {
    DDPM_IMAGE_OK = 0,
    /// The data is not a valid file of the format (corrupt, truncated, unsupported variant).
    DDPM_IMAGE_CORRUPT = 1,
    /// Out of memory, or an image too large to address.
    DDPM_IMAGE_NO_MEMORY = 2,
    /// The arguments are inconsistent (e.g. a channel count other than 1, 2, 3 or 4).
    DDPM_IMAGE_BAD_ARGUMENT = 3,
    /// The header describes an image larger than DDPM_IMAGE_MAX_DECODED_BYTES (nothing was allocated).
    DDPM_IMAGE_TOO_LARGE = 4,
};

/// The largest decoded image, in bytes (width x height x channels of 8-bit samples): 256 MiB.
/// Checked from the header, before the pixels are allocated or any scan is decoded.
#define DDPM_IMAGE_MAX_DECODED_BYTES (256u << 20)

/// The largest ancillary PNG chunk (text, ICC profile, ...) libpng may allocate: 8 MiB.
#define DDPM_PNG_MAX_CHUNK_BYTES (8u << 20)

/// A decoded 8-bit image: `height` rows of `width` pixels of `channels` interleaved samples
/// (1 gray, 2 gray + alpha, 3 RGB, 4 RGBA), rows packed without padding. `pixels` is allocated
/// with malloc by the decoder; release it with `ddpm_image_free`.
typedef struct {
    uint8_t *pixels;
    int32_t width;
    int32_t height;
    int32_t channels;
} ddpm_image;

/// Decodes a PNG held in memory. Palette images become RGB (RGBA with a tRNS chunk), gray
/// below 8 bits becomes 8-bit gray, 16-bit samples are scaled to 8 bits, interlacing is undone.
int ddpm_png_decode(const uint8_t *data, size_t size, ddpm_image *out, char message[DDPM_IMAGE_MESSAGE_BYTES]);

/// Decodes a baseline or progressive JPEG held in memory to gray (1 channel) or RGB (3).
/// A file that ends before its last scan, or whose entropy-coded data is corrupt (libjpeg's
/// "Corrupt JPEG data" warnings), is refused, not padded with gray.
int ddpm_jpeg_decode(const uint8_t *data, size_t size, ddpm_image *out, char message[DDPM_IMAGE_MESSAGE_BYTES]);

/// Encodes 8-bit pixels (`channels` 1, 2, 3 or 4, rows packed) as a PNG in memory. On success
/// `*out` (malloc'd, release with `ddpm_image_free`) holds `*out_size` bytes.
int ddpm_png_encode(const uint8_t *pixels, int32_t width, int32_t height, int32_t channels,
                    uint8_t **out, size_t *out_size, char message[DDPM_IMAGE_MESSAGE_BYTES]);

/// Releases memory returned by this library (NULL is allowed).
void ddpm_image_free(void *pointer);

#ifdef __cplusplus
}
#endif

#endif

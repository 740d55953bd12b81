// JPEG decoding with libjpeg(-turbo). libjpeg's default error_exit prints and calls exit(); this
// file installs an error manager whose error_exit longjmps back to the decode function instead,
// and whose message hook records warnings, so a truncated file is an error rather than an image
// silently padded with gray.
#include "CImageShim.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr base;  // first, so a j_common_ptr's err can be cast back
    jmp_buf jump;
    char *message;
    int truncated;
} jpeg_error_state;

static void on_error_exit(j_common_ptr cinfo) {
    jpeg_error_state *state = (jpeg_error_state *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    if (state->message[0] == 0) snprintf(state->message, DDPM_IMAGE_MESSAGE_BYTES, "%s", text);
    longjmp(state->jump, 1);
}

/// Level -1 is a warning. "Premature end of data" (libjpeg would insert a fake end-of-image
/// marker) is recorded as truncation; the "Corrupt JPEG data" warnings (bad Huffman code,
/// a marker inside the entropy-coded data, lost sync, extraneous bytes, bad progression), after
/// which libjpeg would go on and pad the image with gray, stop the decoding at once.
static void on_emit_message(j_common_ptr cinfo, int level) {
    jpeg_error_state *state = (jpeg_error_state *)cinfo->err;
    if (level >= 0) return;
    cinfo->err->num_warnings++;
    switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF:
        state->truncated = 1;
        break;
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL:
    case JWRN_EXTRANEOUS_DATA:
    case JWRN_BOGUS_PROGRESSION: {
        char text[JMSG_LENGTH_MAX];
        (*cinfo->err->format_message)(cinfo, text);
        if (state->message[0] == 0) snprintf(state->message, DDPM_IMAGE_MESSAGE_BYTES, "corrupt scan data: %s", text);
        longjmp(state->jump, 1);
    }
    default:
        break;
    }
}

int ddpm_jpeg_decode(const uint8_t *data, size_t size, ddpm_image *out, char message[DDPM_IMAGE_MESSAGE_BYTES]) {
    message[0] = 0;
    memset(out, 0, sizeof(*out));
    if (size < 3 || data[0] != 0xFF || data[1] != 0xD8 || data[2] != 0xFF) {
        snprintf(message, DDPM_IMAGE_MESSAGE_BYTES, "not a JPEG file (bad signature)");
        return DDPM_IMAGE_CORRUPT;
    }
    struct jpeg_decompress_struct cinfo;
    jpeg_error_state state;
    memset(&state, 0, sizeof(state));
    state.message = message;
    cinfo.err = jpeg_std_error(&state.base);
    state.base.error_exit = on_error_exit;
    state.base.emit_message = on_emit_message;
    // Volatile: assigned after setjmp and read after a longjmp.
    uint8_t *volatile pixels = NULL;
    if (setjmp(state.jump)) {
        free(pixels);
        jpeg_destroy_decompress(&cinfo);
        // Running out of data inside a marker segment surfaces as a bogus-marker error; the
        // recorded end-of-data warning says what really happened.
        if (state.truncated)
            snprintf(message, DDPM_IMAGE_MESSAGE_BYTES, "the file ends before the image data is complete (truncated)");
        else if (message[0] == 0)
            snprintf(message, DDPM_IMAGE_MESSAGE_BYTES, "corrupt JPEG data");
        return DDPM_IMAGE_CORRUPT;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
        cinfo.out_color_space = JCS_GRAYSCALE;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        cinfo.out_color_space = JCS_RGB;
        break;
    default:
        snprintf(message, DDPM_IMAGE_MESSAGE_BYTES, "unsupported JPEG color space (CMYK/YCCK); convert it to RGB first");
        jpeg_destroy_decompress(&cinfo);
        return DDPM_IMAGE_CORRUPT;
    }
    // Bound the decoded size from the frame header, before libjpeg allocates its buffers (a
    // 679-byte file can claim 40000x40000) and before any scan is decoded.
    jpeg_calc_output_dimensions(&cinfo);
    {
        unsigned long long bytes =
            (unsigned long long)cinfo.output_width * cinfo.output_height * (unsigned)cinfo.output_components;
        if (cinfo.output_width > (1u << 16) || cinfo.output_height > (1u << 16) || bytes > DDPM_IMAGE_MAX_DECODED_BYTES) {
            snprintf(message, DDPM_IMAGE_MESSAGE_BYTES,
                     "the header describes %ux%u pixels x %d channels = %llu bytes decoded, more than the %u MiB limit",
                     cinfo.output_width, cinfo.output_height, cinfo.output_components, bytes,
                     DDPM_IMAGE_MAX_DECODED_BYTES >> 20);
            jpeg_destroy_decompress(&cinfo);
            return DDPM_IMAGE_TOO_LARGE;
        }
    }
    jpeg_start_decompress(&cinfo);
    int channels = cinfo.output_components;
    size_t row_bytes = (size_t)cinfo.output_width * (size_t)channels;
    pixels = (uint8_t *)malloc(row_bytes * cinfo.output_height);
    if (!pixels) {
        jpeg_destroy_decompress(&cinfo);
        snprintf(message, DDPM_IMAGE_MESSAGE_BYTES, "out of memory for the JPEG pixels");
        return DDPM_IMAGE_NO_MEMORY;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = pixels + (size_t)cinfo.output_scanline * row_bytes;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    int truncated = state.truncated;
    out->width = (int32_t)cinfo.output_width;
    out->height = (int32_t)cinfo.output_height;
    out->channels = channels;
    jpeg_destroy_decompress(&cinfo);
    if (truncated) {
        free(pixels);
        memset(out, 0, sizeof(*out));
        snprintf(message, DDPM_IMAGE_MESSAGE_BYTES, "the file ends before the image data is complete (truncated)");
        return DDPM_IMAGE_CORRUPT;
    }
    out->pixels = pixels;
    return DDPM_IMAGE_OK;
}

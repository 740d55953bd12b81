// PNG decoding and encoding with libpng. libpng reports errors by calling an error function that
// must not return; it longjmps back to the setjmp in the function that started the work, which
// releases everything and turns the error into a return code and a message.
#include "CImageShim.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/// Everything the libpng callbacks need: the input cursor, the output buffer and the message.
typedef struct {
    const uint8_t *data;
    size_t size;
    size_t position;
    uint8_t *output;
    size_t output_size;
    size_t output_capacity;
    int out_of_memory;
    char *message;
} png_io;

static void copy_message(char *destination, const char *text) {
    snprintf(destination, DDPM_IMAGE_MESSAGE_BYTES, "%s", text);
}

static void on_error(png_structp png, png_const_charp text) {
    png_io *io = (png_io *)png_get_error_ptr(png);
    if (io && io->message && io->message[0] == 0) copy_message(io->message, text);
    png_longjmp(png, 1);
}

/// Warnings (e.g. a bad ancillary chunk) do not stop decoding and are not printed.
static void on_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void read_from_memory(png_structp png, png_bytep destination, size_t length) {
    png_io *io = (png_io *)png_get_io_ptr(png);
    if (length > io->size - io->position) {
        copy_message(io->message, "the file ends before the image data is complete (truncated)");
        png_longjmp(png, 1);
    }
    memcpy(destination, io->data + io->position, length);
    io->position += length;
}

/// Walks the chunk list before libpng sees it: libpng allocates an ancillary chunk's claimed
/// length before reading it (a 61-byte file can make it allocate 2 GiB), so every chunk must fit
/// in what is left of the file, and ancillary chunks must stay under DDPM_PNG_MAX_CHUNK_BYTES.
/// Returns 0, or DDPM_IMAGE_CORRUPT with the chunk named in `message`.
static int check_chunks(const uint8_t *data, size_t size, char *message) {
    size_t position = 8;
    while (position + 8 <= size) {
        const uint8_t *p = data + position;
        uint32_t length = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
        char name[5];
        for (int i = 0; i < 4; i++) name[i] = (p[4 + i] >= 0x20 && p[4 + i] < 0x7F) ? (char)p[4 + i] : '?';
        name[4] = 0;
        size_t left = size - position - 8;
        if (length > 0x7FFFFFFFu || (size_t)length + 4 > left) {
            snprintf(message, DDPM_IMAGE_MESSAGE_BYTES,
                     "chunk '%s' at byte %zu claims %u bytes, but the file has %zu left (truncated or corrupt)", name,
                     position, length, left);
            return DDPM_IMAGE_CORRUPT;
        }
        int ancillary = (p[4] & 0x20) != 0;
        if (ancillary && length > DDPM_PNG_MAX_CHUNK_BYTES) {
            snprintf(message, DDPM_IMAGE_MESSAGE_BYTES, "ancillary chunk '%s' holds %u bytes, more than the %u MiB limit",
                     name, length, DDPM_PNG_MAX_CHUNK_BYTES >> 20);
            return DDPM_IMAGE_CORRUPT;
        }
        if (memcmp(p + 4, "IEND", 4) == 0) break;
        position += 12 + (size_t)length;
    }
    return 0;
}

int ddpm_png_decode(const uint8_t *data, size_t size, ddpm_image *out, char message[DDPM_IMAGE_MESSAGE_BYTES]) {
    message[0] = 0;
    memset(out, 0, sizeof(*out));
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
        copy_message(message, "not a PNG file (bad signature)");
        return DDPM_IMAGE_CORRUPT;
    }
    if (check_chunks(data, size, message) != 0) return DDPM_IMAGE_CORRUPT;
    png_io io = {data, size, 0, NULL, 0, 0, 0, message};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &io, on_error, on_warning);
    if (!png) {
        copy_message(message, "out of memory creating the PNG reader");
        return DDPM_IMAGE_NO_MEMORY;
    }
    png_infop info = png_create_info_struct(png);
    // Volatile: assigned after setjmp and read after a longjmp.
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        copy_message(message, "out of memory creating the PNG reader");
        return DDPM_IMAGE_NO_MEMORY;
    }
    if (setjmp(png_jmpbuf(png))) {
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        if (message[0] == 0) copy_message(message, "corrupt PNG data");
        return DDPM_IMAGE_CORRUPT;
    }
    png_set_read_fn(png, &io, read_from_memory);
    // Refuse absurd dimensions before allocating (a corrupt header can claim 2^31 x 2^31).
    png_set_user_limits(png, 1u << 16, 1u << 16);
    // Bound what a chunk length may make libpng allocate (a 61-byte file can claim a 2 GiB iTXt).
    png_set_chunk_malloc_max(png, DDPM_PNG_MAX_CHUNK_BYTES);
    png_set_chunk_cache_max(png, 1000);
    png_read_info(png, info);
    png_uint_32 width = png_get_image_width(png, info);
    png_uint_32 height = png_get_image_height(png, info);
    int color = png_get_color_type(png, info);
    int depth = png_get_bit_depth(png, info);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (depth == 16) png_set_scale_16(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    size_t row_bytes = png_get_rowbytes(png, info);
    if (channels < 1 || channels > 4 || row_bytes != (size_t)width * (size_t)channels) {
        snprintf(message, DDPM_IMAGE_MESSAGE_BYTES, "unsupported PNG layout (%d channels, %zu bytes per row)", channels,
                 row_bytes);
        png_longjmp(png, 1);
    }
    if ((uint64_t)row_bytes * height > DDPM_IMAGE_MAX_DECODED_BYTES) {
        snprintf(message, DDPM_IMAGE_MESSAGE_BYTES,
                 "the header describes %ux%u pixels x %d channels = %llu bytes decoded, more than the %u MiB limit",
                 (unsigned)width, (unsigned)height, channels, (unsigned long long)row_bytes * height,
                 DDPM_IMAGE_MAX_DECODED_BYTES >> 20);
        png_destroy_read_struct(&png, &info, NULL);
        return DDPM_IMAGE_TOO_LARGE;
    }
    pixels = (uint8_t *)malloc(row_bytes * height);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * height);
    if (!pixels || !rows) {
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        copy_message(message, "out of memory for the PNG pixels");
        return DDPM_IMAGE_NO_MEMORY;
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + (size_t)y * row_bytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    out->pixels = pixels;
    out->width = (int32_t)width;
    out->height = (int32_t)height;
    out->channels = channels;
    return DDPM_IMAGE_OK;
}

static void write_to_memory(png_structp png, png_bytep source, size_t length) {
    png_io *io = (png_io *)png_get_io_ptr(png);
    if (io->output_size + length > io->output_capacity) {
        size_t capacity = io->output_capacity ? io->output_capacity : 4096;
        while (capacity < io->output_size + length) capacity *= 2;
        uint8_t *grown = (uint8_t *)realloc(io->output, capacity);
        if (!grown) {
            io->out_of_memory = 1;
            copy_message(io->message, "out of memory for the PNG file");
            png_longjmp(png, 1);
        }
        io->output = grown;
        io->output_capacity = capacity;
    }
    memcpy(io->output + io->output_size, source, length);
    io->output_size += length;
}

static void flush_memory(png_structp png) { (void)png; }

int ddpm_png_encode(const uint8_t *pixels, int32_t width, int32_t height, int32_t channels, uint8_t **out,
                    size_t *out_size, char message[DDPM_IMAGE_MESSAGE_BYTES]) {
    message[0] = 0;
    *out = NULL;
    *out_size = 0;
    static const int color_types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                       PNG_COLOR_TYPE_RGB_ALPHA};
    if (channels < 1 || channels > 4 || width < 1 || height < 1) {
        snprintf(message, DDPM_IMAGE_MESSAGE_BYTES, "cannot encode a %dx%d image with %d channels", width, height,
                 channels);
        return DDPM_IMAGE_BAD_ARGUMENT;
    }
    png_io io = {NULL, 0, 0, NULL, 0, 0, 0, message};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &io, on_error, on_warning);
    if (!png) {
        copy_message(message, "out of memory creating the PNG writer");
        return DDPM_IMAGE_NO_MEMORY;
    }
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        copy_message(message, "out of memory creating the PNG writer");
        return DDPM_IMAGE_NO_MEMORY;
    }
    if (setjmp(png_jmpbuf(png))) {
        free(io.output);
        int no_memory = io.out_of_memory;
        png_destroy_write_struct(&png, &info);
        if (message[0] == 0) copy_message(message, "PNG encoding failed");
        return no_memory ? DDPM_IMAGE_NO_MEMORY : DDPM_IMAGE_BAD_ARGUMENT;
    }
    png_set_write_fn(png, &io, write_to_memory, flush_memory);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, color_types[channels], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    size_t row_bytes = (size_t)width * (size_t)channels;
    for (int32_t y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(pixels + (size_t)y * row_bytes));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    *out = io.output;
    *out_size = io.output_size;
    return DDPM_IMAGE_OK;
}

void ddpm_image_free(void *pointer) { free(pointer); }

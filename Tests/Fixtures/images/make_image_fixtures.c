// Writes the image fixtures of Tests/TrainingTests with libpng and libjpeg directly (not through
// the project's decoder), each a 16x12 gradient whose exact values the tests recompute:
//   R(x, y) = x·17, G(x, y) = y·23, B(x, y) = (x + y)·9, A(x, y) = 255 − x·8, gray = x·8 + y·10.
// Build and run from this directory:
//   cc make_image_fixtures.c -o /tmp/make_image_fixtures -lpng16 -ljpeg && /tmp/make_image_fixtures
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>

enum { W = 16, H = 12 };

static int r(int x, int y) { (void)y; return x * 17; }
static int g(int x, int y) { (void)x; return y * 23; }
static int b(int x, int y) { return (x + y) * 9; }
static int a(int x, int y) { (void)y; return 255 - x * 8; }
static int gray(int x, int y) { return x * 8 + y * 10; }

static void write_png(const char *name, int color, int depth, int interlace, int channels,
                      int (*sample)(int x, int y, int k), png_colorp palette, int palette_count,
                      png_bytep trans, int trans_count) {
    FILE *f = fopen(name, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_init_io(png, f);
    png_set_IHDR(png, info, W, H, depth, color, interlace, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (palette) png_set_PLTE(png, info, palette, palette_count);
    if (trans) png_set_tRNS(png, info, trans, trans_count, NULL);
    png_write_info(png, info);
    if (depth < 8) png_set_packing(png);
    int bytes = depth == 16 ? 2 : 1;
    png_bytep rows[H];
    for (int y = 0; y < H; y++) {
        rows[y] = malloc(W * channels * bytes);
        for (int x = 0; x < W; x++)
            for (int k = 0; k < channels; k++) {
                int v = sample(x, y, k);
                if (bytes == 2) {
                    rows[y][(x * channels + k) * 2] = (png_byte)(v >> 8);
                    rows[y][(x * channels + k) * 2 + 1] = (png_byte)(v & 255);
                } else {
                    rows[y][x * channels + k] = (png_byte)v;
                }
            }
    }
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
    for (int y = 0; y < H; y++) free(rows[y]);
}

static int s_gray(int x, int y, int k) { (void)k; return gray(x, y); }
static int s_gray1(int x, int y, int k) { (void)k; return (x + y) % 2; }
static int s_ga(int x, int y, int k) { return k == 0 ? gray(x, y) : a(x, y); }
static int s_rgb(int x, int y, int k) { return k == 0 ? r(x, y) : k == 1 ? g(x, y) : b(x, y); }
static int s_rgba(int x, int y, int k) { return k == 3 ? a(x, y) : s_rgb(x, y, k); }
static int s_rgb16(int x, int y, int k) { return s_rgb(x, y, k) * 257; }
static int s_index(int x, int y, int k) { (void)k; return (x / 4 + y / 3) % 4; }

static void write_jpeg(const char *name, int channels, int progressive) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    FILE *f = fopen(name, "wb");
    jpeg_stdio_dest(&c, f);
    c.image_width = W;
    c.image_height = H;
    c.input_components = channels;
    c.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 98, TRUE);
    if (channels == 3) {  // 4:4:4, so chroma is not averaged over 2x2 blocks
        for (int i = 0; i < 3; i++) c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
    }
    if (progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    unsigned char row[W * 3];
    while (c.next_scanline < H) {
        int y = c.next_scanline;
        for (int x = 0; x < W; x++) {
            if (channels == 1) row[x] = (unsigned char)gray(x, y);
            else { row[x * 3] = r(x, y); row[x * 3 + 1] = g(x, y); row[x * 3 + 2] = b(x, y); }
        }
        JSAMPROW p = row;
        jpeg_write_scanlines(&c, &p, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
}

int main(void) {
    png_color palette[4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {250, 200, 10}};
    png_byte trans[4] = {255, 128, 0, 255};
    write_png("gray8.png", PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_NONE, 1, s_gray, NULL, 0, NULL, 0);
    write_png("gray1.png", PNG_COLOR_TYPE_GRAY, 1, PNG_INTERLACE_NONE, 1, s_gray1, NULL, 0, NULL, 0);
    write_png("gray_alpha.png", PNG_COLOR_TYPE_GRAY_ALPHA, 8, PNG_INTERLACE_NONE, 2, s_ga, NULL, 0, NULL, 0);
    write_png("rgb8.png", PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE, 3, s_rgb, NULL, 0, NULL, 0);
    write_png("rgba8.png", PNG_COLOR_TYPE_RGB_ALPHA, 8, PNG_INTERLACE_NONE, 4, s_rgba, NULL, 0, NULL, 0);
    write_png("rgb16.png", PNG_COLOR_TYPE_RGB, 16, PNG_INTERLACE_NONE, 3, s_rgb16, NULL, 0, NULL, 0);
    write_png("rgb_interlaced.png", PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_ADAM7, 3, s_rgb, NULL, 0, NULL, 0);
    write_png("palette.png", PNG_COLOR_TYPE_PALETTE, 8, PNG_INTERLACE_NONE, 1, s_index, palette, 4, NULL, 0);
    write_png("palette_trns.png", PNG_COLOR_TYPE_PALETTE, 8, PNG_INTERLACE_NONE, 1, s_index, palette, 4, trans, 4);
    write_jpeg("gray.jpg", 1, 0);
    write_jpeg("rgb.jpg", 3, 0);
    write_jpeg("rgb_progressive.jpg", 3, 1);
    return 0;
}

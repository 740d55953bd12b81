// libFuzzer target: the image decoding shim (Sources/CImageShim: libpng and libjpeg-turbo behind
// setjmp), as `Image(decoding:path:)` calls it (issue 15). Built by `make fuzz` with
// -fsanitize=fuzzer,address; the corpus is Fuzz/corpus/image (PNG and JPEG seeds).
#include "CImageShim.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ddpm_image image;
    char message[DDPM_IMAGE_MESSAGE_BYTES];
    int code = size >= 1 && data[0] == 0x89 ? ddpm_png_decode(data, size, &image, message)
                                            : ddpm_jpeg_decode(data, size, &image, message);
    if (code == DDPM_IMAGE_OK) {
        // Touch every decoded byte (ASan checks the buffer is as large as claimed).
        volatile uint8_t sum = 0;
        size_t n = (size_t)image.width * (size_t)image.height * (size_t)image.channels;
        for (size_t i = 0; i < n; i++) sum += image.pixels[i];
        (void)sum;
        ddpm_image_free(image.pixels);
    }
    return 0;
}

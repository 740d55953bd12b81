// libpng (Debian libpng-dev). Used only by the CImageShim C target, which owns the setjmp.
#include <png.h>

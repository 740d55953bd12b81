/* The C interface of device plugins is a header only (include/ddpm_device.h); this file exists
 * because a SwiftPM C target needs a source, and compiles the header as C on every build. */
#include "ddpm_device.h"

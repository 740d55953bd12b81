/*
 * A minimal device plugin for the plugin tests: host memory, synchronous execution, one device
 * "testdev:0" that implements only FILL (everything else is unsupported). Compiled by the tests
 * with one of the BROKEN_* / NEWER_MINOR macros to make a deliberately broken variant; without
 * any, it is a correct plugin (used to test loading, the front end and unsupported launches).
 */
#include "ddpm_device.h"

#include <stdlib.h>
#include <string.h>

struct DdpmError { int32_t code; char message[256]; };
struct DdpmPlugin { int unused; };
struct DdpmDevice { int index; };
struct DdpmBuffer { uint64_t bytes; unsigned char *data; };
struct DdpmQueue { int unused; };
struct DdpmEvent { int unused; };

static DdpmError *make_error(int32_t code, const char *message) {
    DdpmError *error = calloc(1, sizeof *error);
    error->code = code;
    strncpy(error->message, message, sizeof error->message - 1);
    return error;
}

static int32_t error_code(const DdpmError *error) { return error->code; }
static const char *error_message(const DdpmError *error) { return error->message; }
static void error_destroy(DdpmError *error) { free(error); }

#ifndef BROKEN_INIT
static DdpmPlugin the_plugin;
#endif
static DdpmError *initialize(const DdpmInitArgs *args, DdpmPlugin **out) {
    (void)args;
#ifdef BROKEN_INIT
    (void)out;
    return make_error(DDPM_ERROR_UNAVAILABLE, "simulated: the test accelerator is not plugged in");
#else
    *out = &the_plugin;
    return NULL;
#endif
}
static void terminate_plugin(DdpmPlugin *plugin) { (void)plugin; }

#ifdef BROKEN_DUPLICATE
#define DEVICE_COUNT 2
#else
#define DEVICE_COUNT 1
#endif

static const DdpmProperty properties[] = { { "memory", "host (malloc)" } };
static DdpmDeviceInfo infos[DEVICE_COUNT];

static DdpmError *device_count(DdpmPlugin *plugin, int64_t *out) { (void)plugin; *out = DEVICE_COUNT; return NULL; }
static DdpmError *device_info(DdpmPlugin *plugin, int64_t index, const DdpmDeviceInfo **out) {
    (void)plugin;
    if (index < 0 || index >= DEVICE_COUNT) return make_error(DDPM_ERROR_INVALID_ARGUMENT, "no such device");
    DdpmDeviceInfo *info = &infos[index];
    memset(info, 0, sizeof *info);
#ifdef BROKEN_SHORT_INFO
    info->struct_size = 16;
#else
    info->struct_size = sizeof *info;
#endif
#if defined(BROKEN_DUPLICATE)
    info->name = "testdev:0";
#elif defined(CLASH_WITH_CPU)
    info->name = "cpu";
#else
    info->name = "testdev:0";
#endif
    info->device_name = "test device";
    info->vendor = "ddpm tests";
    info->kind = DDPM_DEVICE_KIND_OTHER;
    info->driver_version = "1";
    info->platform = "host memory";
    info->compute_units = 1;
    info->global_memory_bytes = 1 << 30;
    info->max_allocation_bytes = 1 << 20;
    info->alignment = 64;
    info->property_count = 1;
    info->properties = properties;
    *out = info;
    return NULL;
}
static DdpmDevice the_device;
static DdpmError *device_open(DdpmPlugin *plugin, int64_t index, DdpmDevice **out) {
    (void)plugin; the_device.index = (int)index; *out = &the_device; return NULL;
}
static void device_close(DdpmDevice *device) { (void)device; }
static int32_t device_supports(DdpmDevice *device, const DdpmKernel *kernel) {
    (void)device;
    return kernel->kind == DDPM_KERNEL_FILL;
}

static DdpmError *buffer_allocate(DdpmDevice *device, uint64_t bytes, DdpmBuffer **out) {
    (void)device;
    DdpmBuffer *buffer = calloc(1, sizeof *buffer);
    buffer->bytes = bytes;
    buffer->data = calloc(1, bytes ? bytes : 1);
    if (!buffer->data) { free(buffer); return make_error(DDPM_ERROR_OUT_OF_MEMORY, "calloc failed"); }
    *out = buffer;
    return NULL;
}
static void buffer_free(DdpmBuffer *buffer) { free(buffer->data); free(buffer); }

static DdpmQueue the_queue;
static DdpmError *queue_create(DdpmDevice *device, DdpmQueue **out) { (void)device; *out = &the_queue; return NULL; }
static void queue_destroy(DdpmQueue *queue) { (void)queue; }
static DdpmError *queue_upload(DdpmQueue *queue, const void *host, DdpmOperand destination) {
    (void)queue; memcpy(destination.buffer->data + destination.offset, host, destination.bytes); return NULL;
}
static DdpmError *queue_download(DdpmQueue *queue, DdpmOperand source, void *host) {
    (void)queue; memcpy(host, source.buffer->data + source.offset, source.bytes); return NULL;
}
static DdpmError *queue_copy(DdpmQueue *queue, DdpmOperand source, DdpmOperand destination) {
    (void)queue; memcpy(destination.buffer->data + destination.offset, source.buffer->data + source.offset, source.bytes);
    return NULL;
}
static DdpmError *queue_launch(DdpmQueue *queue, const DdpmKernel *kernel, const DdpmOperand *operands, int64_t count) {
    (void)queue;
    if (kernel->kind != DDPM_KERNEL_FILL || count != 1) return make_error(DDPM_ERROR_UNSUPPORTED, "only fill");
    float *out = (float *)(operands[0].buffer->data + operands[0].offset);
    for (int64_t i = 0; i < kernel->params.fill.count; i++) out[i] = kernel->params.fill.value;
    return NULL;
}
static DdpmEvent the_event;
static DdpmError *queue_record(DdpmQueue *queue, DdpmEvent **out) { (void)queue; *out = &the_event; return NULL; }
static DdpmError *queue_wait_event(DdpmQueue *queue, DdpmEvent *event) { (void)queue; (void)event; return NULL; }
static DdpmError *queue_synchronize(DdpmQueue *queue) { (void)queue; return NULL; }
static DdpmError *event_wait(DdpmEvent *event) { (void)event; return NULL; }
static int32_t event_is_complete(DdpmEvent *event) { (void)event; return 1; }
static void event_destroy(DdpmEvent *event) { (void)event; }

#ifdef BROKEN_HALF_GROUP
/* Only one of the three schedule slots, which come all or none. */
static DdpmError *schedule_create(DdpmQueue *queue, const DdpmLaunch *launches, int64_t count, DdpmSchedule **out) {
    (void)queue; (void)launches; (void)count; (void)out;
    return make_error(DDPM_ERROR_UNSUPPORTED, "never called");
}
#endif

#ifdef NEWER_MINOR
/* A table from a future 1.7 header: the 1.0 table followed by slots this host does not know. */
typedef struct { DdpmDeviceApi known; void (*future_slot)(void); void (*another_future_slot)(void); } FutureApi;
static FutureApi table;
#define API (&table.known)
#else
static DdpmDeviceApi table;
#define API (&table)
#endif

#ifdef BROKEN_NO_ENTRY
const DdpmDeviceApi *ddpm_device_get_api_misspelled(void) {
#else
const DdpmDeviceApi *ddpm_device_get_api(void) {
#endif
    DdpmDeviceApi *api = API;
    api->struct_size = sizeof *api;
    api->major = DDPM_DEVICE_API_MAJOR;
    api->minor = DDPM_DEVICE_API_MINOR;
#ifdef NEWER_MINOR
    api->struct_size = sizeof table;
    api->minor = 7;
#endif
#ifdef BROKEN_MAJOR
    api->major = DDPM_DEVICE_API_MAJOR + 1;
#endif
#ifdef BROKEN_SHORT_TABLE
    api->struct_size = offsetof(DdpmDeviceApi, queue_launch);
#endif
#ifdef CLASH_WITH_CPU
    api->plugin_name = "cpu";
#else
    api->plugin_name = "testdev";
#endif
    api->plugin_version = "test plugin";
    api->error_code = error_code;
    api->error_message = error_message;
    api->error_destroy = error_destroy;
    api->initialize = initialize;
    api->terminate = terminate_plugin;
    api->device_count = device_count;
    api->device_info = device_info;
    api->device_open = device_open;
    api->device_close = device_close;
    api->device_supports = device_supports;
    api->buffer_allocate = buffer_allocate;
    api->buffer_free = buffer_free;
    api->queue_create = queue_create;
    api->queue_destroy = queue_destroy;
    api->queue_upload = queue_upload;
    api->queue_download = queue_download;
    api->queue_copy = queue_copy;
#ifdef BROKEN_NULL_SLOT
    (void)queue_launch;
    api->queue_launch = NULL;
#else
    api->queue_launch = queue_launch;
#endif
    api->queue_record = queue_record;
    api->queue_wait_event = queue_wait_event;
    api->queue_synchronize = queue_synchronize;
    api->event_wait = event_wait;
    api->event_is_complete = event_is_complete;
    api->event_destroy = event_destroy;
#ifdef BROKEN_HALF_GROUP
    api->schedule_create = schedule_create;
#endif
    return api;
}

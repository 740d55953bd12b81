/*
 * example_device.c: the smallest honest ddpm device plugin, to copy when bringing up a new device.
 *
 * One device, "example", whose memory is host memory (malloc) and whose queue runs every
 * command at once, in order, on the calling thread. It implements part of the kernel vocabulary:
 * fill, strided copy, the elementwise families (unary, unary backward, broadcasting binary) and
 * the strided batched GEMM. device_supports answers 0 for everything else, so the conformance
 * suite reports those kernels as unsupported, not failed.
 *
 * What ddpm guarantees before any slot here is called (the front end, see ddpm_device.h): every
 * operand is a buffer of this device, in bounds for its kernel, 4-byte aligned; the operand count
 * is the kind's; parameters are consistent; copies never overlap. So this file checks nothing
 * twice and only computes. Arithmetic follows the reference device (cpu-reference): sums and
 * transcendental functions in double, rounded to float once.
 *
 * Build: make -C examples/device-plugin (or `make examples` at the top of the repository).
 * Use:   ddpm --device-plugin examples/device-plugin/libddpm-device-example.so --device example conformance
 */
#define _POSIX_C_SOURCE 200112L   /* posix_memalign */
#include "ddpm_device.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Errors: a code and a message ddpm shows; ddpm frees them with error_destroy. ------------ */

struct DdpmError { int32_t code; char message[200]; };

static DdpmError *error(int32_t code, const char *message) {
    DdpmError *e = calloc(1, sizeof *e);
    if (!e) abort();                   /* no memory even for an error: NULL would mean success */
    e->code = code;
    snprintf(e->message, sizeof e->message, "example device: %s", message);
    return e;
}
static int32_t error_code(const DdpmError *e) { return e->code; }
static const char *error_message(const DdpmError *e) { return e->message; }
static void error_destroy(DdpmError *e) { free(e); }

/* ---- Handles. With host memory and synchronous execution they hold almost nothing. ---------- */

struct DdpmPlugin { int unused; };
struct DdpmDevice { int unused; };
struct DdpmBuffer { unsigned char *bytes; };
struct DdpmQueue { int profiling; };
struct DdpmEvent { int unused; };      /* commands run at once: every event is complete */

static DdpmPlugin plugin_state;
static DdpmDevice device_state;
static DdpmEvent completed_event;

/* ---- Plugin and device description. ---------------------------------------------------------- */

static DdpmError *initialize(const DdpmInitArgs *args, DdpmPlugin **out) {
    (void)args;                        /* nothing to find: host memory is always there */
    *out = &plugin_state;
    return NULL;
}
static void terminate_plugin(DdpmPlugin *plugin) { (void)plugin; }

static const DdpmProperty properties[] = {
    { "memory", "host (malloc)" },
    { "execution", "synchronous, on the calling thread" },
    { "kernels", "fill, copy, unary, unary_backward, binary, gemm" },
};
static DdpmDeviceInfo info;

static DdpmError *device_count(DdpmPlugin *plugin, int64_t *out) { (void)plugin; *out = 1; return NULL; }

static DdpmError *device_info(DdpmPlugin *plugin, int64_t index, const DdpmDeviceInfo **out) {
    (void)plugin;
    if (index != 0) return error(DDPM_ERROR_INVALID_ARGUMENT, "there is only device 0");
    info.struct_size = sizeof info;
    info.name = "example";             /* the registry name: `ddpm --device example` */
    info.device_name = "example device (host memory)";
    info.vendor = "ddpm examples";
    info.kind = DDPM_DEVICE_KIND_OTHER;
    info.supports_fp16 = 0;
    info.driver_version = "1";
    info.platform = "examples/device-plugin";
    info.compute_units = 1;
    info.global_memory_bytes = (int64_t)1 << 32;
    info.max_allocation_bytes = (int64_t)1 << 31;
    info.alignment = 64;
    info.property_count = sizeof properties / sizeof properties[0];
    info.properties = properties;
    *out = &info;
    return NULL;
}

static DdpmError *device_open(DdpmPlugin *plugin, int64_t index, DdpmDevice **out) {
    (void)plugin; (void)index;
    *out = &device_state;
    return NULL;
}
static void device_close(DdpmDevice *device) { (void)device; }

/* The kernels this device implements, whatever their parameters. */
static int32_t device_supports(DdpmDevice *device, const DdpmKernel *kernel) {
    (void)device;
    switch (kernel->kind) {
    case DDPM_KERNEL_FILL: case DDPM_KERNEL_COPY: case DDPM_KERNEL_UNARY: case DDPM_KERNEL_UNARY_BACKWARD:
    case DDPM_KERNEL_BINARY: case DDPM_KERNEL_GEMM:
        return 1;
    default:
        return 0;                      /* ddpm reports these as unsupported */
    }
}

/* ---- Buffers. -------------------------------------------------------------------------------- */

static DdpmError *buffer_allocate(DdpmDevice *device, uint64_t bytes, DdpmBuffer **out) {
    (void)device;
    DdpmBuffer *buffer = malloc(sizeof *buffer);
    if (!buffer) return error(DDPM_ERROR_OUT_OF_MEMORY, "malloc of a buffer handle failed");
    /* 64-byte aligned, as info.alignment promises; at least one byte so 0-byte buffers are valid. */
    if (posix_memalign((void **)&buffer->bytes, 64, bytes ? (size_t)bytes : 1) != 0) {
        free(buffer);
        return error(DDPM_ERROR_OUT_OF_MEMORY, "posix_memalign failed");
    }
    *out = buffer;
    return NULL;
}
static void buffer_free(DdpmBuffer *buffer) { free(buffer->bytes); free(buffer); }

static float *floats(DdpmOperand o) { return (float *)(o.buffer->bytes + o.offset); }

/* ---- Transfers. ------------------------------------------------------------------------------ */

static DdpmError *queue_create(DdpmDevice *device, DdpmQueue **out) {
    (void)device;
    DdpmQueue *queue = calloc(1, sizeof *queue);
    if (!queue) return error(DDPM_ERROR_OUT_OF_MEMORY, "calloc of a queue failed");
    *out = queue;
    return NULL;
}
static void queue_destroy(DdpmQueue *queue) { free(queue); }

static DdpmError *queue_upload(DdpmQueue *queue, const void *host, DdpmOperand to) {
    (void)queue;
    memcpy(to.buffer->bytes + to.offset, host, (size_t)to.bytes);
    return NULL;
}
static DdpmError *queue_download(DdpmQueue *queue, DdpmOperand from, void *host) {
    (void)queue;
    memcpy(host, from.buffer->bytes + from.offset, (size_t)from.bytes);
    return NULL;
}
static DdpmError *queue_copy(DdpmQueue *queue, DdpmOperand from, DdpmOperand to) {
    (void)queue;
    memcpy(to.buffer->bytes + to.offset, from.buffer->bytes + from.offset, (size_t)from.bytes);
    return NULL;
}

/* ---- Kernels. -------------------------------------------------------------------------------- */

/*
 * Visits every multi-index of `shape` in row-major order, calling visit(offset_a, offset_b, i)
 * with the element offsets under two stride vectors and the running index i. A negative stride
 * walks backwards from the end of its extent, so the view's lowest address is the operand start.
 */
typedef void (*Visit)(int64_t a, int64_t b, int64_t i, void *context);

static void for_each_index(int32_t rank, const int64_t *shape, const int64_t *sa, const int64_t *sb,
                           Visit visit, void *context) {
    int64_t count = 1, index[DDPM_MAX_RANK] = {0}, a = 0, b = 0;
    for (int32_t d = 0; d < rank; d++) {
        count *= shape[d];
        if (sa[d] < 0) a += (shape[d] - 1) * -sa[d];
        if (sb[d] < 0) b += (shape[d] - 1) * -sb[d];
    }
    for (int64_t i = 0; i < count; i++) {
        visit(a, b, i, context);
        for (int32_t d = rank - 1; d >= 0; d--) {
            index[d]++; a += sa[d]; b += sb[d];
            if (index[d] < shape[d]) break;
            a -= sa[d] * shape[d]; b -= sb[d] * shape[d];
            index[d] = 0;
        }
    }
}

/* Strided copy; with `accumulate`, sums (in double) into dst, broadcast sources summed per target. */
struct CopyContext { const float *src; float *dst; double *sums; };
static void copy_one(int64_t s, int64_t d, int64_t i, void *c) {
    (void)i; struct CopyContext *k = c; k->dst[d] = k->src[s];
}
static void accumulate_one(int64_t s, int64_t d, int64_t i, void *c) {
    (void)i; struct CopyContext *k = c; k->sums[d] += k->src[s];
}
static void write_back_one(int64_t d, int64_t unused, int64_t i, void *c) {
    (void)unused; (void)i; struct CopyContext *k = c; k->dst[d] = (float)k->sums[d];
}

static DdpmError *copy(const DdpmCopyParams *p, DdpmOperand src, DdpmOperand dst) {
    struct CopyContext k = { floats(src), floats(dst), NULL };
    if (!p->accumulate) {
        for_each_index(p->rank, p->shape, p->src_strides, p->dst_strides, copy_one, &k);
        return NULL;
    }
    int64_t span = dst.bytes / 4;
    k.sums = malloc((size_t)(span ? span : 1) * sizeof(double));
    if (!k.sums) return error(DDPM_ERROR_OUT_OF_MEMORY, "copy: no memory for the sums");
    for (int64_t i = 0; i < span; i++) k.sums[i] = k.dst[i];
    for_each_index(p->rank, p->shape, p->src_strides, p->dst_strides, accumulate_one, &k);
    /* Write back only the elements the view addresses: gaps in a strided dst stay untouched. */
    for_each_index(p->rank, p->shape, p->dst_strides, p->dst_strides, write_back_one, &k);
    free(k.sums);
    return NULL;
}

/* f(x) and f'(x) of every unary op, in double (p0, p1: affine scale/shift, clamp low/high). */
static double unary_value(int32_t op, double x, double p0, double p1) {
    switch (op) {
    case DDPM_UNARY_IDENTITY: return x;
    case DDPM_UNARY_NEG: return -x;
    case DDPM_UNARY_ABS: return fabs(x);
    case DDPM_UNARY_RELU: return x > 0 ? x : 0;
    case DDPM_UNARY_SILU: return x / (1 + exp(-x));
    case DDPM_UNARY_SIGMOID: return 1 / (1 + exp(-x));
    case DDPM_UNARY_TANH: return tanh(x);
    case DDPM_UNARY_GELU: return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    case DDPM_UNARY_EXP: return exp(x);
    case DDPM_UNARY_LOG: return log(x);
    case DDPM_UNARY_SQRT: return sqrt(x);
    case DDPM_UNARY_RSQRT: return 1 / sqrt(x);
    case DDPM_UNARY_SIN: return sin(x);
    case DDPM_UNARY_COS: return cos(x);
    case DDPM_UNARY_SQUARE: return x * x;
    case DDPM_UNARY_RECIPROCAL: return 1 / x;
    case DDPM_UNARY_AFFINE: return p0 * x + p1;
    case DDPM_UNARY_CLAMP: return fmin(fmax(x, p0), p1);
    default: return NAN;
    }
}

static double unary_derivative(int32_t op, double x, double p0, double p1) {
    const double pi = 3.14159265358979323846;
    double s, t;
    switch (op) {
    case DDPM_UNARY_IDENTITY: return 1;
    case DDPM_UNARY_NEG: return -1;
    case DDPM_UNARY_ABS: return x > 0 ? 1 : (x < 0 ? -1 : 0);
    case DDPM_UNARY_RELU: return x > 0 ? 1 : 0;          /* PyTorch's relu'(0) = 0 */
    case DDPM_UNARY_SILU: s = 1 / (1 + exp(-x)); return s * (1 + x * (1 - s));
    case DDPM_UNARY_SIGMOID: s = 1 / (1 + exp(-x)); return s * (1 - s);
    case DDPM_UNARY_TANH: t = tanh(x); return 1 - t * t;
    case DDPM_UNARY_GELU: return 0.5 * (1 + erf(x / sqrt(2.0))) + x * exp(-0.5 * x * x) / sqrt(2 * pi);
    case DDPM_UNARY_EXP: return exp(x);
    case DDPM_UNARY_LOG: return 1 / x;
    case DDPM_UNARY_SQRT: return 0.5 / sqrt(x);
    case DDPM_UNARY_RSQRT: return -0.5 / (x * sqrt(x));
    case DDPM_UNARY_SIN: return cos(x);
    case DDPM_UNARY_COS: return -sin(x);
    case DDPM_UNARY_SQUARE: return 2 * x;
    case DDPM_UNARY_RECIPROCAL: return -1 / (x * x);
    case DDPM_UNARY_AFFINE: return p0;
    case DDPM_UNARY_CLAMP: return x > p0 && x < p1 ? 1 : 0;
    default: return NAN;
    }
}

/* y = f(x); y may be the same range as x (read each element before writing it). */
static void unary(const DdpmUnaryParams *p, DdpmOperand x, DdpmOperand y) {
    const float *in = floats(x);
    float *out = floats(y);
    for (int64_t i = 0; i < p->count; i++) out[i] = (float)unary_value(p->op, in[i], p->p0, p->p1);
}

/* dx = dy * f'(x); dx may be the same range as dy. */
static void unary_backward(const DdpmUnaryParams *p, DdpmOperand x, DdpmOperand dy, DdpmOperand dx) {
    const float *in = floats(x), *g = floats(dy);
    float *out = floats(dx);
    for (int64_t i = 0; i < p->count; i++) out[i] = (float)(g[i] * unary_derivative(p->op, in[i], p->p0, p->p1));
}

/* out = a op b over `shape`, a and b read with their own strides (0 broadcasts); out dense. */
struct BinaryContext { int32_t op; const float *a, *b; float *out; };
static void binary_one(int64_t ia, int64_t ib, int64_t i, void *c) {
    struct BinaryContext *k = c;
    double a = k->a[ia], b = k->b[ib], r;
    switch (k->op) {
    case DDPM_BINARY_ADD: r = a + b; break;
    case DDPM_BINARY_SUB: r = a - b; break;
    case DDPM_BINARY_MUL: r = a * b; break;
    case DDPM_BINARY_DIV: r = a / b; break;
    case DDPM_BINARY_MAXIMUM: r = isnan(a) || isnan(b) ? NAN : fmax(a, b); break;  /* NaN propagates */
    case DDPM_BINARY_MINIMUM: r = isnan(a) || isnan(b) ? NAN : fmin(a, b); break;
    default: r = NAN;
    }
    k->out[i] = (float)r;
}

static void binary(const DdpmBinaryParams *p, DdpmOperand a, DdpmOperand b, DdpmOperand out) {
    struct BinaryContext k = { p->op, floats(a), floats(b), floats(out) };
    for_each_index(p->rank, p->shape, p->a_strides, p->b_strides, binary_one, &k);
}

/* C_b = alpha op(A_b) op(B_b) + beta C_b (+ bias), row-major; C is not read when beta == 0. */
static void gemm(const DdpmGemmParams *g, DdpmOperand a, DdpmOperand b, DdpmOperand c, const DdpmOperand *bias) {
    for (int64_t batch = 0; batch < g->batch; batch++) {
        const float *A = floats(a) + batch * g->stride_a, *B = floats(b) + batch * g->stride_b;
        float *C = floats(c) + batch * g->stride_c;
        for (int64_t i = 0; i < g->m; i++) {
            for (int64_t j = 0; j < g->n; j++) {
                double sum = 0;
                for (int64_t p = 0; p < g->k; p++) {
                    double av = g->trans_a ? A[p * g->lda + i] : A[i * g->lda + p];
                    double bv = g->trans_b ? B[j * g->ldb + p] : B[p * g->ldb + j];
                    sum += av * bv;
                }
                double value = g->alpha * sum;
                if (g->beta != 0) value += g->beta * (double)C[i * g->ldc + j];
                if (g->bias == DDPM_GEMM_BIAS_PER_ROW) value += floats(*bias)[i];
                if (g->bias == DDPM_GEMM_BIAS_PER_COLUMN) value += floats(*bias)[j];
                C[i * g->ldc + j] = (float)value;
            }
        }
    }
}

/* One launch: the operands come in the order docs/kernel-abi.md gives for the kind. */
static DdpmError *queue_launch(DdpmQueue *queue, const DdpmKernel *kernel, const DdpmOperand *o, int64_t count) {
    (void)queue; (void)count;
    switch (kernel->kind) {
    case DDPM_KERNEL_FILL: {
        float *out = floats(o[0]);
        for (int64_t i = 0; i < kernel->params.fill.count; i++) out[i] = kernel->params.fill.value;
        return NULL;
    }
    case DDPM_KERNEL_COPY: return copy(&kernel->params.copy, o[0], o[1]);
    case DDPM_KERNEL_UNARY: unary(&kernel->params.unary, o[0], o[1]); return NULL;
    case DDPM_KERNEL_UNARY_BACKWARD: unary_backward(&kernel->params.unary, o[0], o[1], o[2]); return NULL;
    case DDPM_KERNEL_BINARY: binary(&kernel->params.binary, o[0], o[1], o[2]); return NULL;
    case DDPM_KERNEL_GEMM:
        gemm(&kernel->params.gemm, o[0], o[1], o[2], kernel->params.gemm.bias == DDPM_GEMM_BIAS_NONE ? NULL : &o[3]);
        return NULL;
    default:
        /* Not reached: ddpm asks device_supports first. */
        return error(DDPM_ERROR_UNSUPPORTED, "kernel kind not implemented");
    }
}

/* ---- Events and synchronisation: everything has already happened. ---------------------------- */

static DdpmError *queue_record(DdpmQueue *queue, DdpmEvent **out) { (void)queue; *out = &completed_event; return NULL; }
static DdpmError *queue_wait_event(DdpmQueue *queue, DdpmEvent *event) { (void)queue; (void)event; return NULL; }
static DdpmError *queue_synchronize(DdpmQueue *queue) { (void)queue; return NULL; }
static DdpmError *event_wait(DdpmEvent *event) { (void)event; return NULL; }
static int32_t event_is_complete(DdpmEvent *event) { (void)event; return 1; }
static void event_destroy(DdpmEvent *event) { (void)event; }

/* ---- The table. Optional slots (profiling, schedules) are left NULL: ddpm replays schedules
 *      launch by launch and shows no per-kernel device times for this device. ------------------- */

static DdpmDeviceApi api = {
    .struct_size = sizeof(DdpmDeviceApi),
    .major = DDPM_DEVICE_API_MAJOR,
    .minor = DDPM_DEVICE_API_MINOR,
    .plugin_name = "example",
    .plugin_version = "example device plugin 1 (examples/device-plugin)",
    .error_code = error_code,
    .error_message = error_message,
    .error_destroy = error_destroy,
    .initialize = initialize,
    .terminate = terminate_plugin,
    .device_count = device_count,
    .device_info = device_info,
    .device_open = device_open,
    .device_close = device_close,
    .device_supports = device_supports,
    .buffer_allocate = buffer_allocate,
    .buffer_free = buffer_free,
    .queue_create = queue_create,
    .queue_destroy = queue_destroy,
    .queue_upload = queue_upload,
    .queue_download = queue_download,
    .queue_copy = queue_copy,
    .queue_launch = queue_launch,
    .queue_record = queue_record,
    .queue_wait_event = queue_wait_event,
    .queue_synchronize = queue_synchronize,
    .event_wait = event_wait,
    .event_is_complete = event_is_complete,
    .event_destroy = event_destroy,
};

/* The one exported symbol. */
const DdpmDeviceApi *ddpm_device_get_api(void) { return &api; }

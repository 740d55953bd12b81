/*
 * ddpm_device.h: the stable C interface between ddpm and a device plugin.
 *
 * A device plugin is a shared library that exports one function,
 *
 *     const DdpmDeviceApi *ddpm_device_get_api(void);
 *
 * returning a table of function pointers (the "slots" below). ddpm loads plugins at run time
 * (the folder of the ddpm binary, DDPM_DEVICE_PATH, --device-plugin FILE), checks the table,
 * and puts every device the plugin reports behind one front end that validates each launch,
 * counts transfers and kernels, times kernels when profiling, and keeps operands alive. A
 * plugin therefore implements raw primitives only, and may trust what it receives: every
 * operand is in bounds, 4-byte aligned, a buffer of the device the queue belongs to, and the
 * operand count is the one its kernel kind fixes (see "Kernels" below).
 *
 * Versioning (PJRT style). DDPM_DEVICE_API_MAJOR changes only when an existing slot or field
 * changes meaning: ddpm refuses a plugin of another major. DDPM_DEVICE_API_MINOR grows when
 * slots, fields, kernel kinds or enum values are APPENDED: nothing is ever removed, reordered
 * or renumbered. Every struct that crosses the interface starts with `size_t struct_size`,
 * the sizeof() of the struct as its writer compiled it, so each side reads only the fields
 * both know:
 *   - a plugin built for a newer minor runs with the part of its table this ddpm knows
 *     (ddpm says so in `ddpm devices`);
 *   - a plugin built for an older minor is given structs whose later fields it never reads;
 *   - a struct_size smaller than the fields its declared version requires is an error.
 *
 * Errors. A slot that can fail returns `DdpmError *`: NULL on success, otherwise an object
 * the plugin allocated, which ddpm reads with error_code / error_message (the message is
 * shown to the user: name the call and the cause) and then frees with error_destroy.
 *
 * Threads. ddpm calls a queue's slots from one thread at a time; different queues and
 * buffer_free may be called from different threads.
 *
 * Pure C99: no Swift, no C++, no compiler extensions.
 */
#ifndef DDPM_DEVICE_H
#define DDPM_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DDPM_DEVICE_API_MAJOR 1
#define DDPM_DEVICE_API_MINOR 1

/* The name of the one symbol a plugin exports. */
#define DDPM_DEVICE_ENTRY_POINT "ddpm_device_get_api"

/* Most operand dimensions of strided copies and broadcasting binary ops. */
#define DDPM_MAX_RANK 6

/* ---------------------------------------------------------------------------------------------
 * Opaque handles, owned by the plugin.
 * ------------------------------------------------------------------------------------------- */
typedef struct DdpmPlugin DdpmPlugin;     /* state made by initialize, ended by terminate */
typedef struct DdpmDevice DdpmDevice;     /* one opened device */
typedef struct DdpmBuffer DdpmBuffer;     /* opaque device memory; ddpm never dereferences it */
typedef struct DdpmQueue DdpmQueue;       /* an in-order queue of one device */
typedef struct DdpmEvent DdpmEvent;       /* a completion marker recorded on a queue */
typedef struct DdpmSchedule DdpmSchedule; /* a recorded list of launches (optional slots) */
typedef struct DdpmError DdpmError;       /* a failure: code + message */

/* ---------------------------------------------------------------------------------------------
 * Error codes (values of error_code). Append only.
 * ------------------------------------------------------------------------------------------- */
enum {
    DDPM_ERROR_INVALID_ARGUMENT = 1,      /* bad parameters the host could not know were bad */
    DDPM_ERROR_OUT_OF_MEMORY = 2,         /* the device could not provide the memory */
    DDPM_ERROR_ALLOCATION_TOO_LARGE = 3,  /* above max_allocation_bytes */
    DDPM_ERROR_UNSUPPORTED = 4,           /* a kernel (or parameters of it) the device lacks */
    DDPM_ERROR_UNAVAILABLE = 5,           /* initialize: no driver, no hardware; the message says what to install */
    DDPM_ERROR_BUILD_FAILED = 6,          /* a kernel program failed to compile; the message has the log */
    DDPM_ERROR_BACKEND = 7                /* any other failure of the underlying API */
};

/* ---------------------------------------------------------------------------------------------
 * Device description.
 * ------------------------------------------------------------------------------------------- */
enum {
    DDPM_DEVICE_KIND_CPU = 1,
    DDPM_DEVICE_KIND_GPU = 2,
    DDPM_DEVICE_KIND_ACCELERATOR = 3,     /* NPUs, DSPs */
    DDPM_DEVICE_KIND_OTHER = 4
};

/* One free-form key/value line of `ddpm devices`. */
typedef struct DdpmProperty {
    const char *key;
    const char *value;
} DdpmProperty;

/*
 * What a device is. Filled by the plugin; every pointer stays valid until terminate.
 * Required fields (version 1.0): everything up to and including `properties`.
 */
typedef struct DdpmDeviceInfo {
    size_t struct_size;
    const char *name;            /* registry name, unique in the process: "opencl:0", "npu:1" */
    const char *device_name;     /* the hardware: "NVIDIA H200", "pthread-znver4" */
    const char *vendor;
    int32_t kind;                /* DDPM_DEVICE_KIND_* */
    int32_t supports_fp16;       /* 0 or 1; informative */
    const char *driver_version;
    const char *platform;        /* driver stack or SDK */
    int64_t compute_units;
    int64_t global_memory_bytes;
    int64_t max_allocation_bytes; /* ddpm refuses larger allocations before calling buffer_allocate */
    int64_t alignment;           /* base alignment of every buffer, a power of two >= 4 */
    int64_t property_count;
    const DdpmProperty *properties;
} DdpmDeviceInfo;

/* ---------------------------------------------------------------------------------------------
 * Kernels: the vocabulary, with fixed numbers that only ever append.
 *
 * Each kind has one parameter struct (a member of DdpmKernel's union) and a fixed operand list,
 * given below as "operands: a, b, c". Tensors are float32 (int32 where noted), dense,
 * row-major (NCHW for images) unless strides are given; strides and counts are in elements.
 * Semantics are those of ddpm's reference device `cpu-reference`; docs/kernel-abi.md restates
 * each kernel.
 *
 * Aliasing rules (written once, for every kind): two operands never overlap, except that an
 * output may be the SAME range as an input where the operand list says "may alias". A plugin
 * must produce the right result in that case (read before write, element by element).
 * ------------------------------------------------------------------------------------------- */
typedef int32_t DdpmKernelKind;
enum {
    DDPM_KERNEL_FILL = 1,                     /* operands: out */
    DDPM_KERNEL_COPY = 2,                     /* operands: src, dst */
    DDPM_KERNEL_UNARY = 3,                    /* operands: x, y (may alias x) */
    DDPM_KERNEL_UNARY_BACKWARD = 4,           /* operands: x, dy, dx (may alias dy) */
    DDPM_KERNEL_BINARY = 5,                   /* operands: a, b, out (may alias a dense a or b) */
    DDPM_KERNEL_REDUCE = 6,                   /* operands: x, y */
    DDPM_KERNEL_SOFTMAX = 7,                  /* operands: x, y (may alias x) */
    DDPM_KERNEL_SOFTMAX_BACKWARD = 8,         /* operands: y, dy, dx (may alias dy) */
    DDPM_KERNEL_RMS_NORM = 9,                 /* operands: x, g, y */
    DDPM_KERNEL_RMS_NORM_BACKWARD = 10,       /* operands: x, g, dy, dx, dg */
    DDPM_KERNEL_GROUP_NORM = 11,              /* operands: x, gamma, beta, y */
    DDPM_KERNEL_GROUP_NORM_BACKWARD = 12,     /* operands: x, gamma, dy, dx, dgamma, dbeta */
    DDPM_KERNEL_GEMM = 13,                    /* operands: a, b, c [, bias] */
    DDPM_KERNEL_CONV2D = 14,                  /* operands: x, w, y [, bias] */
    DDPM_KERNEL_CONV2D_BACKWARD_DATA = 15,    /* operands: dy, w, dx */
    DDPM_KERNEL_CONV2D_BACKWARD_WEIGHT = 16,  /* operands: x, dy, dw [, dbias] */
    DDPM_KERNEL_PIXEL_UNSHUFFLE = 17,         /* operands: x, y */
    DDPM_KERNEL_PIXEL_SHUFFLE = 18,           /* operands: x, y */
    DDPM_KERNEL_UPSAMPLE_NEAREST = 19,        /* operands: x, y */
    DDPM_KERNEL_UPSAMPLE_NEAREST_BACKWARD = 20, /* operands: dy, dx */
    DDPM_KERNEL_TIMESTEP_EMBEDDING = 21,      /* operands: t, out */
    DDPM_KERNEL_GATHER = 22,                  /* operands: table, index (int32), out */
    DDPM_KERNEL_RANDOM = 23,                  /* operands: state (4 x uint32), out */
    DDPM_KERNEL_RANDOM_ADVANCE = 24,          /* operands: state */
    DDPM_KERNEL_ADAM = 25,                    /* operands: param, grad, m, v, hyper (lr, step, grad scale) */
    DDPM_KERNEL_EMA_UPDATE = 26,              /* operands: ema, param, hyper (decay) */
    DDPM_KERNEL_GRAD_CLIP_SCALE = 27,         /* operands: sum_of_squares (1), scale (1) */
    /* 1.1 */
    DDPM_KERNEL_RMS_NORM_SCALE_SHIFT_SILU = 28, /* operands: x, g, [scale_shift], y */
    DDPM_KERNEL_RMS_NORM_SCALE_SHIFT_SILU_BACKWARD = 29 /* operands: x, g, [scale_shift], dy, dx, dg, [dscale_shift] */
};
/* One past the largest kind of this version. */
#define DDPM_KERNEL_KIND_END 30

/* Unary functions (DdpmUnaryParams.op). */
enum {
    DDPM_UNARY_IDENTITY = 1, DDPM_UNARY_NEG = 2, DDPM_UNARY_ABS = 3, DDPM_UNARY_RELU = 4,
    DDPM_UNARY_SILU = 5, DDPM_UNARY_SIGMOID = 6, DDPM_UNARY_TANH = 7,
    DDPM_UNARY_GELU = 8,        /* exact: x * Phi(x) */
    DDPM_UNARY_EXP = 9, DDPM_UNARY_LOG = 10, DDPM_UNARY_SQRT = 11, DDPM_UNARY_RSQRT = 12,
    DDPM_UNARY_SIN = 13, DDPM_UNARY_COS = 14, DDPM_UNARY_SQUARE = 15, DDPM_UNARY_RECIPROCAL = 16,
    DDPM_UNARY_AFFINE = 17,     /* p0 * x + p1 */
    DDPM_UNARY_CLAMP = 18       /* min(max(x, p0), p1); derivative 1 strictly inside (p0, p1) */
};

/* Binary functions (DdpmBinaryParams.op). */
enum {
    DDPM_BINARY_ADD = 1, DDPM_BINARY_SUB = 2, DDPM_BINARY_MUL = 3, DDPM_BINARY_DIV = 4,
    DDPM_BINARY_MAXIMUM = 5, DDPM_BINARY_MINIMUM = 6
};

/* Reductions (DdpmReduceParams.op). */
enum { DDPM_REDUCE_SUM = 1, DDPM_REDUCE_MEAN = 2, DDPM_REDUCE_MAX = 3, DDPM_REDUCE_SUM_OF_SQUARES = 4 };

/* GEMM bias (DdpmGemmParams.bias). */
enum { DDPM_GEMM_BIAS_NONE = 0, DDPM_GEMM_BIAS_PER_ROW = 1, DDPM_GEMM_BIAS_PER_COLUMN = 2 };

/* Random distributions (DdpmRandomParams.distribution). */
enum { DDPM_RANDOM_UNIFORM = 1, DDPM_RANDOM_NORMAL = 2, DDPM_RANDOM_INTEGER = 3 };

/* out[i] = value for i < count. */
typedef struct DdpmFillParams { int64_t count; float value; } DdpmFillParams;

/* dst[sum i*dst_strides] (+)= src[sum i*src_strides] over `shape` (rank 1..6). */
typedef struct DdpmCopyParams {
    int32_t rank;
    int32_t accumulate;                       /* 1: add into dst */
    int64_t shape[DDPM_MAX_RANK];
    int64_t src_strides[DDPM_MAX_RANK];
    int64_t dst_strides[DDPM_MAX_RANK];
} DdpmCopyParams;

/* y = f(x) (UNARY) or dx = dy * f'(x) (UNARY_BACKWARD) for `count` elements. */
typedef struct DdpmUnaryParams { int32_t op; float p0; float p1; int64_t count; } DdpmUnaryParams;

/* out = a op b over `shape`, a and b read with their own strides (0 broadcasts); out dense. */
typedef struct DdpmBinaryParams {
    int32_t op;
    int32_t rank;
    int64_t shape[DDPM_MAX_RANK];
    int64_t a_strides[DDPM_MAX_RANK];
    int64_t b_strides[DDPM_MAX_RANK];
} DdpmBinaryParams;

/* A [outer, extent, inner] view whose middle axis is reduced (REDUCE) or normalised (SOFTMAX*). */
typedef struct DdpmReduceParams { int32_t op; int64_t outer; int64_t extent; int64_t inner; } DdpmReduceParams;

/* RMS norm over channels of [batch, channels, spatial]: y = x / max(|x|, eps) * g * sqrt(C). */
typedef struct DdpmRmsNormParams { int64_t batch; int64_t channels; int64_t spatial; float eps; } DdpmRmsNormParams;

/* RMS norm, FiLM and SiLU in one pass: u = x / max(|x|, eps) * g * sqrt(C), v = u * (scale + 1) + shift
 * (scale = scale_shift[n, c], shift = scale_shift[n, C + c] of a [batch, 2 * channels] operand) or
 * v = u when scale_shift is 0 (the operand is then absent), y = v * sigmoid(v). */
typedef struct DdpmRmsNormSiluParams {
    int64_t batch; int64_t channels; int64_t spatial; float eps;
    int32_t scale_shift;                      /* 1: the scale_shift operand (and dscale_shift) are present */
} DdpmRmsNormSiluParams;

/* Group norm of [batch, channels, spatial]; `groups` divides `channels`. */
typedef struct DdpmGroupNormParams {
    int64_t batch; int64_t channels; int64_t spatial; int64_t groups; float eps;
} DdpmGroupNormParams;

/* C_b = alpha * op(A_b) * op(B_b) + beta * C_b (+ bias), row-major, batch b at b * stride. */
typedef struct DdpmGemmParams {
    int64_t batch, m, n, k;
    int32_t trans_a, trans_b;
    float alpha, beta;
    int64_t lda, ldb, ldc;
    int64_t stride_a, stride_b, stride_c;
    int32_t bias;                             /* DDPM_GEMM_BIAS_* */
} DdpmGemmParams;

/* Stride-1 zero-padded cross-correlation [N, Cin, H, W] * [Cout, Cin, KH, KW]. */
typedef struct DdpmConv2dParams {
    int64_t batch, in_channels, out_channels, height, width;
    int64_t kernel_height, kernel_width, pad_height, pad_width;
    int32_t has_bias;
} DdpmConv2dParams;

/* [batch, channels, height, width] of the large side of a 2-D resampling by `factor`. */
typedef struct DdpmResampleParams { int64_t batch, channels, height, width, factor; } DdpmResampleParams;

/* Sinusoidal embedding: out[n] = [sin(t[n] f) | cos(t[n] f)], f_i = exp(-i ln(theta) / (dim/2 - 1)). */
typedef struct DdpmTimestepEmbeddingParams { int64_t count; int64_t dim; float theta; } DdpmTimestepEmbeddingParams;

/* out[r, :] = table[clamp(index[r], 0, table_rows - 1), :]. */
typedef struct DdpmGatherParams { int64_t rows; int64_t width; int64_t table_rows; } DdpmGatherParams;

/* Philox 4x32-10 numbers, bit-identical on every device (see Philox.swift for the stream). */
typedef struct DdpmRandomParams {
    int32_t distribution;                     /* DDPM_RANDOM_* */
    uint32_t stream;
    int64_t count;
    float a, b;                               /* uniform [a, b); normal mean a, std b */
    int32_t int_low, int_high;                /* integer [int_low, int_high), written as int32 */
} DdpmRandomParams;

/* Adam / AdamW with PyTorch semantics; per-step lr, step and grad scale in the `hyper` operand. */
typedef struct DdpmAdamParams { int64_t count; float beta1, beta2, eps, weight_decay; } DdpmAdamParams;

/* ema += (1 - decay) * (param - ema), decay = hyper[0]. */
typedef struct DdpmEmaParams { int64_t count; } DdpmEmaParams;

/* scale = min(1, max_norm / (sqrt(sum_of_squares) + 1e-6)). */
typedef struct DdpmGradClipParams { float max_norm; } DdpmGradClipParams;

/* One kernel launch's parameters: `kind` selects the union member. */
typedef struct DdpmKernel {
    size_t struct_size;
    DdpmKernelKind kind;
    union {
        DdpmFillParams fill;
        DdpmCopyParams copy;
        DdpmUnaryParams unary;                /* UNARY, UNARY_BACKWARD */
        DdpmBinaryParams binary;
        DdpmReduceParams reduce;              /* REDUCE, SOFTMAX, SOFTMAX_BACKWARD (op unused) */
        DdpmRmsNormParams rms_norm;           /* RMS_NORM, RMS_NORM_BACKWARD */
        DdpmGroupNormParams group_norm;       /* GROUP_NORM, GROUP_NORM_BACKWARD */
        DdpmGemmParams gemm;
        DdpmConv2dParams conv2d;              /* CONV2D, CONV2D_BACKWARD_DATA, CONV2D_BACKWARD_WEIGHT */
        DdpmResampleParams resample;          /* PIXEL_UNSHUFFLE, PIXEL_SHUFFLE, UPSAMPLE_NEAREST(_BACKWARD) */
        DdpmTimestepEmbeddingParams timestep_embedding;
        DdpmGatherParams gather;
        DdpmRandomParams random;              /* RANDOM (RANDOM_ADVANCE has no parameters) */
        DdpmAdamParams adam;
        DdpmEmaParams ema;
        DdpmGradClipParams grad_clip;
        DdpmRmsNormSiluParams rms_norm_silu;  /* RMS_NORM_SCALE_SHIFT_SILU(_BACKWARD) (1.1) */
    } params;
} DdpmKernel;

/* A tensor operand: `bytes` bytes at byte `offset` of `buffer`. */
typedef struct DdpmOperand {
    DdpmBuffer *buffer;
    uint64_t offset;
    uint64_t bytes;
} DdpmOperand;

/* One launch of a schedule. */
typedef struct DdpmLaunch {
    size_t struct_size;
    const DdpmKernel *kernel;
    const DdpmOperand *operands;
    int64_t operand_count;
} DdpmLaunch;

/* ---------------------------------------------------------------------------------------------
 * initialize's arguments.
 * ------------------------------------------------------------------------------------------- */
typedef struct DdpmInitArgs {
    size_t struct_size;
    uint32_t host_major;         /* the interface version ddpm speaks */
    uint32_t host_minor;
    const char *plugin_path;     /* the file ddpm loaded */
    const char *cache_directory; /* where the plugin may cache compiled programs, or NULL */
} DdpmInitArgs;

/* ---------------------------------------------------------------------------------------------
 * The table. REQUIRED slots must be non-NULL; OPTIONAL slots may be NULL, and each says what
 * ddpm does then. Version 1.0 requires every field up to and including `event_destroy`.
 * ------------------------------------------------------------------------------------------- */
typedef struct DdpmDeviceApi {
    size_t struct_size;
    uint32_t major;              /* DDPM_DEVICE_API_MAJOR the plugin was built with */
    uint32_t minor;              /* DDPM_DEVICE_API_MINOR the plugin was built with */
    const char *plugin_name;     /* family of its devices, e.g. "opencl"; ASCII, no ':' */
    const char *plugin_version;  /* free text shown by `ddpm devices` */

    /* REQUIRED. Reading and freeing errors returned by any slot. */
    int32_t (*error_code)(const DdpmError *error);
    const char *(*error_message)(const DdpmError *error);
    void (*error_destroy)(DdpmError *error);

    /* REQUIRED. Called once after loading. DDPM_ERROR_UNAVAILABLE (no driver, no hardware) makes
     * ddpm list the plugin's family as unavailable with the message. */
    DdpmError *(*initialize)(const DdpmInitArgs *args, DdpmPlugin **out_plugin);
    /* REQUIRED. Called when ddpm gives up a plugin it initialised (a later check failed, e.g. a
     * device name already taken), with no device open. A plugin in use stays loaded until the
     * process exits; ddpm does not call terminate then (the exit releases everything). */
    void (*terminate)(DdpmPlugin *plugin);

    /* REQUIRED. Devices: count, description (plugin-owned, valid until terminate), open/close. */
    DdpmError *(*device_count)(DdpmPlugin *plugin, int64_t *out_count);
    DdpmError *(*device_info)(DdpmPlugin *plugin, int64_t index, const DdpmDeviceInfo **out_info);
    DdpmError *(*device_open)(DdpmPlugin *plugin, int64_t index, DdpmDevice **out_device);
    void (*device_close)(DdpmDevice *device);
    /* REQUIRED. 1 when the device implements this kernel with these parameters, else 0. ddpm asks
     * before every launch it has not asked about; an unsupported launch fails in ddpm with
     * "device X does not support kernel Y", the conformance suite counts it as unsupported, and
     * a device that lacks a kind altogether simply returns 0 for it. */
    int32_t (*device_supports)(DdpmDevice *device, const DdpmKernel *kernel);

    /* REQUIRED. Buffers: `bytes` may be 0; ddpm never asks for more than max_allocation_bytes.
     * Contents of a new buffer are zero. buffer_free is called only after every command that
     * uses the buffer has completed (ddpm keeps operands alive until a synchronize or an event
     * wait covers them). */
    DdpmError *(*buffer_allocate)(DdpmDevice *device, uint64_t bytes, DdpmBuffer **out_buffer);
    void (*buffer_free)(DdpmBuffer *buffer);

    /* REQUIRED. In-order queues. Enqueue slots return without waiting for the device. */
    DdpmError *(*queue_create)(DdpmDevice *device, DdpmQueue **out_queue);
    void (*queue_destroy)(DdpmQueue *queue);  /* always after a queue_synchronize */
    /* `destination.bytes` bytes from `host`; the plugin must have copied them when this returns. */
    DdpmError *(*queue_upload)(DdpmQueue *queue, const void *host, DdpmOperand destination);
    /* `source.bytes` bytes into `host`, which ddpm keeps valid until the command completes. */
    DdpmError *(*queue_download)(DdpmQueue *queue, DdpmOperand source, void *host);
    /* Device-to-device copy of `source.bytes` bytes. ddpm never passes overlapping ranges of one
     * buffer (it rejects them), so memcpy semantics suffice. */
    DdpmError *(*queue_copy)(DdpmQueue *queue, DdpmOperand source, DdpmOperand destination);
    /* One kernel; `operands` has the kind's operand count, validated by ddpm. */
    DdpmError *(*queue_launch)(DdpmQueue *queue, const DdpmKernel *kernel,
                               const DdpmOperand *operands, int64_t operand_count);
    /* An event that completes when everything enqueued so far has completed. */
    DdpmError *(*queue_record)(DdpmQueue *queue, DdpmEvent **out_event);
    /* Later commands of `queue` wait for `event` (of any queue of the same device) without
     * blocking the host. */
    DdpmError *(*queue_wait_event)(DdpmQueue *queue, DdpmEvent *event);
    /* Blocks until everything enqueued has completed. Returns the first error an asynchronous
     * command of this queue hit since the last synchronize (deferred errors surface here). */
    DdpmError *(*queue_synchronize)(DdpmQueue *queue);
    DdpmError *(*event_wait)(DdpmEvent *event);
    int32_t (*event_is_complete)(DdpmEvent *event);   /* 1 or 0, never blocks */
    void (*event_destroy)(DdpmEvent *event);

    /* ---- OPTIONAL slots (NULL = absent) ---------------------------------------------------- */

    /* Profiling. When absent, ddpm times each queue_launch call on the host while profiling: the
     * kernel time for a device that runs launches synchronously, only the enqueue cost for an
     * asynchronous one (whose per-family times are then not meaningful). While on, the plugin
     * times every launch on the device; take_launch_times
     * writes the durations (seconds) of up to `capacity` completed launches, oldest first, in
     * launch order (launches of a replayed schedule count one by one), and removes them. */
    DdpmError *(*queue_set_profiling)(DdpmQueue *queue, int32_t enabled);
    DdpmError *(*queue_take_launch_times)(DdpmQueue *queue, double *seconds, int64_t capacity,
                                          int64_t *out_count);

    /* Whole schedules, for devices that compile graphs (NPU stacks): ddpm hands over a training
     * step or a sampling step once, validated launch by launch, and then replays it by handle.
     * The operands' buffers stay alive until schedule_destroy. When absent, ddpm replays a
     * schedule by calling queue_launch for each launch. All three are present or none. */
    DdpmError *(*schedule_create)(DdpmQueue *queue, const DdpmLaunch *launches, int64_t count,
                                  DdpmSchedule **out_schedule);
    DdpmError *(*schedule_replay)(DdpmQueue *queue, DdpmSchedule *schedule);
    void (*schedule_destroy)(DdpmSchedule *schedule);
} DdpmDeviceApi;

/* The entry point's type. */
typedef const DdpmDeviceApi *(*DdpmGetApiFunction)(void);

#ifdef __cplusplus
}
#endif

#endif /* DDPM_DEVICE_H */

/*
 * virtio-video benchmark: the device against native libavcodec.
 *
 * Registered only when VIRTIO_VIDEO_BENCH is set (make bench).  Each case
 * generates its stream with the ffmpeg command-line tool, then alternates
 * runs through the device (driven through the virtqueues; pictures are
 * never read back over the qtest socket) and natively in this process with
 * the same libavcodec and thread count, and prints one line:
 *
 *   BENCH <decode|encode> <codec> <WxH> <format> threads=<n>: device <fps>
 *   fps, native <fps> fps, ratio <r>, copies/frame <n>, latency p50 <ms>
 *   p99 <ms>
 *
 * Figures are medians of VIRTIO_VIDEO_BENCH_RUNS runs (default 7; with
 * VIRTIO_VIDEO_BENCH_VERBOSE set each run is printed too); the ratio is
 * the median of each device run's ratio to the native run next to it
 * (before it in even runs, after it in odd ones).  Copies and latency come
 * from the device's x-stats property, over the pictures or packets of all
 * device runs of the case: full-frame copies into guest memory per buffer,
 * and the time from the codec handing a picture or packet over (or from
 * the guest queuing the buffer, if that came later) to its completion
 * reaching the virtqueue.
 *
 * Decode cases also print one COUNTS line: what each side cost per picture
 * in steady state (from the first quarter of the pictures on, when the
 * codecs' pools are filled), summed over the runs, counted per thread from
 * /proc/<pid>/task/<tid>/{stat,status,schedstat}: page faults, wake-ups
 * (voluntary context switches: the thread slept and something woke it),
 * preemptions (involuntary ones) and CPU time, for the device (its stream
 * workers, its copiers, QEMU's main thread, QEMU's other threads), for the
 * harness's own client thread (which a guest driver replaces) and for the
 * native decoding threads.  docs/devel/virtio-video.rst ("Performance")
 * explains how to read them, and how they turn into time on hosts where
 * faults and wake-ups are expensive.  An FFMPEG line gives the ffmpeg
 * command-line tool's own figure for the case (-benchmark, its real time),
 * next to the in-process native run.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <sys/resource.h>
#include <sys/syscall.h>
#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include "libqtest.h"
#include "qemu/module.h"
#include "qobject/qdict.h"
#include "libqos/qgraph.h"
#include "libqos/virtio-video.h"
#include "virtio-video-client.h"
#include "virtio-video-encode.h"

#define BENCH_IN    16
#define BENCH_OUT   8

typedef struct BenchCase {
    bool encode;
    uint32_t format;
    const char *name;           /* codec name in the output */
    const char *ffmpeg_codec;   /* decode: how the stream is made */
    uint32_t width, height, frames;
    unsigned threads, streams;
} BenchCase;

static unsigned bench_runs(void)
{
    const char *r = g_getenv("VIRTIO_VIDEO_BENCH_RUNS");

    return r && atoi(r) > 0 ? atoi(r) : 7;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return v[n / 2];
}

/*
 * make bench BACKEND=...: a backend that does not offer the case's coded
 * format says so in the case's BENCH line.  With the default backend
 * every case must run.
 */
static bool backend_lacks(QVirtioVideo *v, const BenchCase *t)
{
    const char *opts = g_getenv("VIRTIO_VIDEO_DEVICE_OPTS");
    char streams[16] = "";
    QVVCaps caps;

    if (t->streams > 1) {
        snprintf(streams, sizeof(streams), "x%u", t->streams);
    }
    if (!opts || !*opts) {
        return false;
    }
    qvirtio_video_query_caps(v, t->encode ? VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT
                                          : VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
                             &caps);
    if (qvv_caps_find(&caps, t->format) >= 0) {
        return false;
    }
    printf("BENCH %s %s %ux%u%s nv12 threads=%u: not offered by the device "
           "with %s\n", t->encode ? "encode" : "decode", t->name, t->width,
           t->height, streams, t->threads, opts + 1);
    g_test_skip("the backend does not offer this format");
    return true;
}

/* The stream for a decode case, made once. */
static char *bench_stream(const BenchCase *t)
{
    g_autofree char *dir = g_build_filename(g_get_tmp_dir(),
                                            "virtio-video-bench", NULL);
    char *path = g_strdup_printf("%s/%s-%ux%u-%u.%s", dir, t->name,
                                 t->width, t->height, t->frames,
                                 t->format == VIRTIO_VIDEO_FORMAT_VP9 ? "ivf"
                                                                     : "es");
    g_autofree char *cmd = NULL;
    int status;

    if (g_file_test(path, G_FILE_TEST_EXISTS)) {
        return path;
    }
    g_mkdir_with_parents(dir, 0700);
    cmd = g_strdup_printf("ffmpeg -nostdin -hide_banner -loglevel error -y "
                          "-f lavfi -i testsrc2=size=%ux%u:rate=30 "
                          "-frames:v %u %s -f %s %s", t->width, t->height,
                          t->frames, t->ffmpeg_codec,
                          t->format == VIRTIO_VIDEO_FORMAT_VP9 ? "ivf" :
                          t->format == VIRTIO_VIDEO_FORMAT_HEVC ? "hevc" :
                          "h264", path);
    g_assert_true(g_spawn_command_line_sync(cmd, NULL, NULL, &status, NULL));
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return path;
}

/* ---- per-thread counters ---- */

enum {
    ROLE_WORKER,        /* device: vv-stream */
    ROLE_COPIER,        /* device: vv-copy */
    ROLE_MAIN,          /* device: QEMU's main thread */
    ROLE_OTHER,         /* device: any other QEMU thread */
    ROLE_CLIENT,        /* the harness's client (this process) */
    ROLE_NATIVE,        /* the native decoding threads (this process) */
    ROLE_COUNT,
};

static const char *const role_name[ROLE_COUNT] = {
    "worker", "copier", "main", "other", "client", "native",
};

typedef struct Counts {
    double faults, majfaults, wakeups, preempt, cpu_ns;
} Counts;

typedef struct ThreadCounts {
    pid_t tid;
    int role;
    Counts c;
} ThreadCounts;

/* Read one thread's counters; false if it is gone. */
static bool read_thread(pid_t pid, pid_t tid, Counts *c, char *comm,
                        size_t comm_len)
{
    g_autofree char *stat = NULL, *status = NULL, *sched = NULL;
    g_autofree char *base = g_strdup_printf("/proc/%d/task/%d", pid, tid);
    g_autofree char *p1 = g_strdup_printf("%s/stat", base);
    g_autofree char *p2 = g_strdup_printf("%s/status", base);
    g_autofree char *p3 = g_strdup_printf("%s/schedstat", base);
    const char *rest, *open;
    unsigned long long minflt, majflt, run_ns;
    const char *v, *n;

    if (!g_file_get_contents(p1, &stat, NULL, NULL) ||
        !g_file_get_contents(p2, &status, NULL, NULL) ||
        !g_file_get_contents(p3, &sched, NULL, NULL)) {
        return false;
    }
    open = strchr(stat, '(');
    rest = strrchr(stat, ')');
    g_assert(open && rest);
    if (comm) {
        g_strlcpy(comm, open + 1, MIN(comm_len, (size_t)(rest - open)));
    }
    /* after the name: state ppid pgrp session tty tpgid flags minflt ... */
    g_assert_cmpint(sscanf(rest + 2, "%*c %*d %*d %*d %*d %*d %*u %llu %*u "
                           "%llu", &minflt, &majflt), ==, 2);
    g_assert_cmpint(sscanf(sched, "%llu", &run_ns), ==, 1);
    v = strstr(status, "\nvoluntary_ctxt_switches:");
    n = strstr(status, "\nnonvoluntary_ctxt_switches:");
    g_assert(v && n);
    *c = (Counts){
        .faults = minflt + majflt, .majfaults = majflt,
        .wakeups = g_ascii_strtod(strchr(v, ':') + 1, NULL),
        .preempt = g_ascii_strtod(strchr(n, ':') + 1, NULL),
        .cpu_ns = run_ns,
    };
    return true;
}

/* Every thread of QEMU @pid, with its role. */
static GArray *snap_device(pid_t pid)
{
    GArray *a = g_array_new(false, true, sizeof(ThreadCounts));
    g_autofree char *dir = g_strdup_printf("/proc/%d/task", pid);
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;

    g_assert_nonnull(d);
    while ((name = g_dir_read_name(d))) {
        ThreadCounts t = { .tid = atoi(name) };
        char comm[32];

        if (!read_thread(pid, t.tid, &t.c, comm, sizeof(comm))) {
            continue;
        }
        t.role = !strcmp(comm, "vv-stream") ? ROLE_WORKER :
                 !strcmp(comm, "vv-copy") ? ROLE_COPIER :
                 t.tid == pid ? ROLE_MAIN : ROLE_OTHER;
        g_array_append_val(a, t);
    }
    g_dir_close(d);
    return a;
}

static Counts snap_self(void)
{
    Counts c;

    g_assert_true(read_thread(getpid(), syscall(SYS_gettid), &c, NULL, 0));
    return c;
}

static void counts_add(Counts *sum, const Counts *end, const Counts *start)
{
    sum->faults += end->faults - (start ? start->faults : 0);
    sum->majfaults += end->majfaults - (start ? start->majfaults : 0);
    sum->wakeups += end->wakeups - (start ? start->wakeups : 0);
    sum->preempt += end->preempt - (start ? start->preempt : 0);
    sum->cpu_ns += end->cpu_ns - (start ? start->cpu_ns : 0);
}

/*
 * Add what each thread of @end did since @start (threads that started in
 * between from zero) to @sum, by role.
 */
static void counts_diff_device(Counts *sum, GArray *start, GArray *end)
{
    guint i, k;

    for (i = 0; i < end->len; i++) {
        ThreadCounts *e = &g_array_index(end, ThreadCounts, i);
        const Counts *s0 = NULL;

        for (k = 0; k < start->len; k++) {
            if (g_array_index(start, ThreadCounts, k).tid == e->tid) {
                s0 = &g_array_index(start, ThreadCounts, k).c;
            }
        }
        counts_add(&sum[e->role], &e->c, s0);
    }
}

/*
 * What a page fault and a wake-up cost on this host, measured once: the
 * first write to fresh anonymous pages, and half a round trip between two
 * threads over pipes (as perf bench sched pipe).  On a host where QEMU
 * itself runs virtualized without hardware paging support both cost
 * several times more; COUNTS turns the counts into time with them.
 */
typedef struct HostCosts {
    double fault_us, wakeup_us;
} HostCosts;

static gpointer pipe_echo(gpointer opaque)
{
    int *fd = opaque;
    char c;

    while (read(fd[0], &c, 1) == 1 && c) {
        g_assert_cmpint(write(fd[3], &c, 1), ==, 1);
    }
    return NULL;
}

static const HostCosts *host_costs(void)
{
    static HostCosts hc;
    const size_t pages = 8192, pg = 4096;
    const unsigned trips = 20000;
    int fd[4];
    GThread *th;
    gint64 t0;
    unsigned i, r;
    char c = 1;

    if (hc.fault_us) {
        return &hc;
    }
    hc.fault_us = 1e9;
    for (r = 0; r < 3; r++) {
        uint8_t *p = mmap(NULL, pages * pg, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        g_assert(p != MAP_FAILED);
        t0 = g_get_monotonic_time();
        for (i = 0; i < pages; i++) {
            p[i * pg] = 1;
        }
        hc.fault_us = MIN(hc.fault_us,
                          (double)(g_get_monotonic_time() - t0) / pages);
        munmap(p, pages * pg);
    }
    g_assert_cmpint(pipe(fd), ==, 0);
    g_assert_cmpint(pipe(fd + 2), ==, 0);
    th = g_thread_new("pipe-echo", pipe_echo, fd);
    t0 = g_get_monotonic_time();
    for (i = 0; i < trips; i++) {
        g_assert_cmpint(write(fd[1], &c, 1), ==, 1);
        g_assert_cmpint(read(fd[2], &c, 1), ==, 1);
    }
    hc.wakeup_us = (double)(g_get_monotonic_time() - t0) / trips / 2;
    c = 0;
    g_assert_cmpint(write(fd[1], &c, 1), ==, 1);
    g_thread_join(th);
    for (i = 0; i < 4; i++) {
        close(fd[i]);
    }
    return &hc;
}

/* The steady-state window starts once this many pictures are out. */
static unsigned steady_from(unsigned frames)
{
    return MAX(frames / 4, 1);
}

/* ---- native ---- */

static enum AVCodecID codec_id(uint32_t format)
{
    switch (format) {
    case VIRTIO_VIDEO_FORMAT_H264:
        return AV_CODEC_ID_H264;
    case VIRTIO_VIDEO_FORMAT_HEVC:
        return AV_CODEC_ID_HEVC;
    default:
        return AV_CODEC_ID_VP9;
    }
}

/*
 * The native runs count the whole process (getrusage() keeps what exited
 * threads did): while they run, this process does nothing else but wait
 * for them.
 */
typedef struct NativeRun {
    unsigned total;             /* pictures expected, all threads */
    gint out;                   /* pictures so far (atomic) */
    gint window;                /* the window started (atomic) */
    unsigned at;                /* pictures out when it started */
    struct rusage start;
} NativeRun;

typedef struct NativeDec {
    GPtrArray *units;
    uint32_t format;
    unsigned threads;
    unsigned frames;
    NativeRun *run;
} NativeDec;

static Counts rusage_counts(const struct rusage *r)
{
    return (Counts){
        .faults = r->ru_minflt + r->ru_majflt, .majfaults = r->ru_majflt,
        .wakeups = r->ru_nvcsw, .preempt = r->ru_nivcsw,
        .cpu_ns = (r->ru_utime.tv_sec + r->ru_stime.tv_sec) * 1e9 +
                  (r->ru_utime.tv_usec + r->ru_stime.tv_usec) * 1e3,
    };
}

static void native_picture(NativeRun *run)
{
    int n = g_atomic_int_add(&run->out, 1) + 1;

    if (n >= (int)steady_from(run->total) &&
        g_atomic_int_compare_and_exchange(&run->window, 0, 1)) {
        getrusage(RUSAGE_SELF, &run->start);
        run->at = n;
    }
}

static gpointer native_decode_thread(gpointer opaque)
{
    NativeDec *n = opaque;
    const AVCodec *codec = avcodec_find_decoder(codec_id(n->format));
    AVCodecContext *ctx = avcodec_alloc_context3(codec);
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc();
    guint i;

    ctx->thread_count = n->threads;
    g_assert_cmpint(avcodec_open2(ctx, codec, NULL), ==, 0);
    for (i = 0; i <= n->units->len; i++) {
        if (i < n->units->len) {
            VvcUnit *u = g_ptr_array_index(n->units, i);

            av_new_packet(pkt, u->len);
            memcpy(pkt->data, u->data, u->len);
            avcodec_send_packet(ctx, pkt);
            av_packet_unref(pkt);
        } else {
            avcodec_send_packet(ctx, NULL);
        }
        while (avcodec_receive_frame(ctx, f) == 0) {
            n->frames++;
            native_picture(n->run);
            av_frame_unref(f);
        }
    }
    av_frame_free(&f);
    av_packet_free(&pkt);
    avcodec_free_context(&ctx);
    return NULL;
}

/*
 * Decode @streams copies at once; returns aggregate pictures per second.
 * Adds the steady-state counts to @sum, and the pictures they cover to
 * @pictures.
 */
static double native_decode(GPtrArray *units, uint32_t format,
                            unsigned threads, unsigned streams, Counts *sum,
                            unsigned *pictures)
{
    NativeDec n[4];
    GThread *th[4];
    NativeRun run = { .total = units->len * streams };
    struct rusage end;
    Counts c0, c1;
    gint64 t0 = g_get_monotonic_time();
    unsigned i, frames = 0;

    for (i = 0; i < streams; i++) {
        n[i] = (NativeDec){ units, format, threads, 0, &run };
        th[i] = g_thread_new("native", native_decode_thread, &n[i]);
    }
    for (i = 0; i < streams; i++) {
        g_thread_join(th[i]);
        frames += n[i].frames;
    }
    {
        double fps = frames / ((g_get_monotonic_time() - t0) / 1e6);

        getrusage(RUSAGE_SELF, &end);
        g_assert_true(run.window);
        c0 = rusage_counts(&run.start);
        c1 = rusage_counts(&end);
        counts_add(sum, &c1, &c0);
        *pictures += frames - run.at;
        return fps;
    }
}

/* ---- device ---- */

typedef struct DevStream {
    uint32_t sid;
    VvcResource *in[BENCH_IN], *out[BENCH_OUT];
    uint32_t in_tag[BENCH_IN], out_tag[BENCH_OUT];
    unsigned next, frames;
    uint32_t drain_tag;
    bool outputs, eos;
} DevStream;

static void dev_outputs(VvcClient *c, DevStream *s)
{
    VvcParams p;
    size_t size = 0;
    unsigned i, k;

    g_assert_cmphex(vvc_get_params(c, s->sid, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
                                   true, &p), ==,
                    VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
    for (k = 0; k < p.num_planes; k++) {
        size += p.plane_size[k];
    }
    for (i = 0; i < BENCH_OUT; i++) {
        s->out[i] = vvc_resource_alloc(c, s->sid,
                                       VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, size,
                                       false, false);
        g_assert_cmphex(vvc_resource_create(c, s->out[i]), ==,
                        VIRTIO_VIDEO_RESP_OK_NODATA);
        s->out_tag[i] = vvc_resource_queue_async(
            c, s->sid, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, s->out[i]->id, 0, 1,
            &(uint32_t){0});
    }
    s->outputs = true;
}

/*
 * Decode @streams copies at once through the device; pictures/second.
 * Adds the steady-state counts by role to @sum, and the pictures they
 * cover to @pictures.
 */
static double device_decode(QVirtioVideo *v, VvcClient *c, GPtrArray *units,
                            uint32_t format, unsigned streams, Counts *sum,
                            unsigned *pictures)
{
    DevStream st[4] = { 0 };
    size_t in_size = 0;
    gint64 t0;
    unsigned i, k, frames = 0, done = 0, window_at = 0;
    pid_t qemu = qtest_pid(qvirtio_video_qts(v));
    g_autoptr(GArray) dev0 = NULL;
    Counts client0 = { 0 };

    for (i = 0; i < units->len; i++) {
        in_size = MAX(in_size, ((VvcUnit *)g_ptr_array_index(units, i))->len);
    }
    for (k = 0; k < streams; k++) {
        DevStream *s = &st[k];
        VvcParams p = { .queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
                        .format = format, .num_planes = 1,
                        .plane_size = { in_size } };

        s->sid = 10 + k;
        g_assert_cmphex(vvc_stream_create(c, s->sid, 0, 0, format, "bench"),
                        ==, VIRTIO_VIDEO_RESP_OK_NODATA);
        g_assert_cmphex(vvc_set_params(c, s->sid, &p, true), ==,
                        VIRTIO_VIDEO_RESP_OK_NODATA);
        for (i = 0; i < BENCH_IN; i++) {
            s->in[i] = vvc_resource_alloc(c, s->sid,
                                          VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
                                          in_size, false, false);
            g_assert_cmphex(vvc_resource_create(c, s->in[i]), ==,
                            VIRTIO_VIDEO_RESP_OK_NODATA);
        }
    }

    t0 = g_get_monotonic_time();
    while (done < streams) {
        g_autoptr(VvcMsg) m = NULL;

        for (k = 0; k < streams; k++) {
            DevStream *s = &st[k];

            for (i = 0; i < BENCH_IN && s->next < units->len; i++) {
                VvcUnit *u = g_ptr_array_index(units, s->next);
                uint32_t len = u->len;

                if (s->in_tag[i]) {
                    continue;
                }
                /* bitstream only: a few KiB per frame over the socket */
                vvc_resource_write(c, s->in[i], u->data, u->len);
                s->in_tag[i] = vvc_resource_queue_async(
                    c, s->sid, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, s->in[i]->id,
                    s->next, 1, &len);
                s->next++;
            }
            if (s->next == units->len && !s->drain_tag) {
                s->drain_tag = vvc_stream_drain_async(c, s->sid);
            }
        }
        m = vvc_next(c, 120000);
        g_assert_nonnull(m);
        if (m->is_event) {
            g_assert_cmphex(m->type, ==,
                            VIRTIO_VIDEO_EVENT_DECODER_RESOLUTION_CHANGED);
            for (k = 0; k < streams; k++) {
                if (st[k].sid == m->stream_id && !st[k].outputs) {
                    dev_outputs(c, &st[k]);
                }
            }
            continue;
        }
        for (k = 0; k < streams; k++) {
            DevStream *s = &st[k];

            if (m->tag == s->drain_tag) {
                s->drain_tag = UINT32_MAX;
                done++;
            }
            for (i = 0; i < BENCH_IN; i++) {
                if (s->in_tag[i] == m->tag) {
                    s->in_tag[i] = 0;
                }
            }
            for (i = 0; i < BENCH_OUT; i++) {
                if (s->out_tag[i] != m->tag) {
                    continue;
                }
                g_assert_false(m->flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR);
                if (!(m->flags & VIRTIO_VIDEO_BUFFER_FLAG_EOS)) {
                    frames++;
                }
                if (!dev0 && frames >= steady_from(units->len * streams)) {
                    dev0 = snap_device(qemu);
                    client0 = snap_self();
                    window_at = frames;
                }
                /* never read back: straight back to the device */
                s->out_tag[i] = vvc_resource_queue_async(
                    c, s->sid, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, s->out[i]->id,
                    0, 1, &(uint32_t){0});
            }
        }
    }
    {
        double fps = frames / ((g_get_monotonic_time() - t0) / 1e6);
        /* before the streams' threads end */
        g_autoptr(GArray) dev1 = snap_device(qemu);
        Counts client1 = snap_self();

        g_assert_nonnull(dev0);
        counts_diff_device(sum, dev0, dev1);
        counts_add(&sum[ROLE_CLIENT], &client1, &client0);
        *pictures += frames - window_at;

        for (k = 0; k < streams; k++) {
            vvc_stream_destroy(c, st[k].sid);
            vvc_flush_stash(c);
            for (i = 0; i < BENCH_IN; i++) {
                vvc_resource_release(c, st[k].in[i]);
            }
            for (i = 0; i < BENCH_OUT; i++) {
                if (st[k].out[i]) {
                    vvc_resource_release(c, st[k].out[i]);
                }
            }
        }
        return fps;
    }
}

/* ---- stats ---- */

static void stats_reset(QVirtioVideo *v)
{
    qtest_qmp_assert_success(qvirtio_video_qts(v),
        "{'execute': 'qom-set', 'arguments': {'path': "
        "'/machine/peripheral/vvbench/virtio-backend', "
        "'property': 'x-stats', 'value': 'reset'}}");
}

/*
 * x-stats: copies per buffer and the added latency's p50/p99; @hops, if
 * not NULL, gets that latency's two hops (write p50, p99, deliver p50,
 * p99).
 */
static void stats_get(QVirtioVideo *v, double *copies, double *p50,
                      double *p99, double *hops)
{
    double h[4];

    QDict *r = qtest_qmp(qvirtio_video_qts(v),
        "{'execute': 'qom-get', 'arguments': {'path': "
        "'/machine/peripheral/vvbench/virtio-backend', "
        "'property': 'x-stats'}}");
    const char *s = qdict_get_str(r, "return");
    unsigned long long buffers, cp, bytes;

    g_assert_cmpint(sscanf(s, "buffers=%llu copies=%llu bytes=%llu "
                           "latency_p50_us=%lf latency_p99_us=%lf "
                           "write_p50_us=%lf write_p99_us=%lf "
                           "deliver_p50_us=%lf deliver_p99_us=%lf",
                           &buffers, &cp, &bytes, p50, p99, &h[0], &h[1],
                           &h[2], &h[3]), ==, 9);
    *copies = buffers ? (double)cp / buffers : 0;
    if (hops) {
        memcpy(hops, h, sizeof(h));
    }
    qobject_unref(r);
}

static void report(const BenchCase *t, const char *format, double *dev,
                   double *nat, double copies, double p50, double p99,
                   unsigned runs)
{
    double ratio[16], d, n, r;
    unsigned i;

    /*
     * Each run's ratio is taken against the native run next to it, then
     * the median of those: load from elsewhere on the machine comes and
     * goes, and hits a pair of neighbouring runs alike more often than
     * two medians taken apart.  The pairs alternate their order (native
     * first, then device first), so that a machine slowing down or
     * speeding up during a case favours neither side.
     */
    for (i = 0; i < runs; i++) {
        ratio[i] = dev[i] / nat[i];
        if (g_getenv("VIRTIO_VIDEO_BENCH_VERBOSE")) {
            printf("# run %u: device %.1f fps, native %.1f fps, ratio %.3f\n",
                   i, dev[i], nat[i], ratio[i]);
        }
    }
    r = median(ratio, runs);
    d = median(dev, runs);
    n = median(nat, runs);
    printf("BENCH %s %s %ux%u%s %s threads=%u: device %.1f fps, native "
           "%.1f fps, ratio %.3f, copies/frame %.2f, latency p50 %.3f ms "
           "p99 %.3f ms (median of %u runs)\n",
           t->encode ? "encode" : "decode", t->name, t->width, t->height,
           t->streams > 1 ? g_strdup_printf("x%u", t->streams) : "",
           format, t->threads, d, n, r, copies, p50 / 1000, p99 / 1000,
           runs);
    fflush(stdout);
}

static void print_counts(const BenchCase *t, const Counts *dev,
                         unsigned dev_pics, const Counts *nat,
                         unsigned nat_pics)
{
    g_autofree char *what = g_strdup_printf(
        "%s %ux%u%s threads=%u", t->name, t->width, t->height,
        t->streams > 1 ? g_strdup_printf("x%u", t->streams) : "",
        t->threads);
    double dev_cpu = 0, nat_cpu = nat->cpu_ns / nat_pics / 1e6;
    double faults = 0, wakeups = 0, extra;
    const HostCosts *hc = host_costs();
    unsigned r;

    g_assert_cmpuint(dev_pics, >, 0);
    g_assert_cmpuint(nat_pics, >, 0);
    printf("COUNTS decode %s: per picture in steady state (device %u "
           "pictures, native %u)\n", what, dev_pics, nat_pics);
    for (r = 0; r < ROLE_COUNT; r++) {
        const Counts *c = r == ROLE_NATIVE ? nat : &dev[r];
        unsigned n = r == ROLE_NATIVE ? nat_pics : dev_pics;

        printf("COUNTS   %-6s page faults %.2f (major %.2f), wake-ups %.2f, "
               "preemptions %.2f, CPU %.3f ms\n", role_name[r],
               c->faults / n, c->majfaults / n, c->wakeups / n,
               c->preempt / n, c->cpu_ns / n / 1e6);
        if (r < ROLE_CLIENT) {
            dev_cpu += c->cpu_ns / n / 1e6;
            faults += c->faults / n;
            wakeups += c->wakeups / n;
        }
    }
    printf("COUNTS   device CPU %.3f ms against native %.3f ms: %+.1f %% of "
           "the codec's\n", dev_cpu, nat_cpu,
           (dev_cpu - nat_cpu) / nat_cpu * 100);
    /*
     * The cost model: the device's faults and wake-ups beyond native
     * ones, at this host's price and at ten times it (a host where QEMU
     * runs in a VM that traps page-table updates and switches).
     */
    faults -= nat->faults / nat_pics;
    wakeups -= nat->wakeups / nat_pics;
    extra = (MAX(faults, 0) * hc->fault_us + MAX(wakeups, 0) *
             hc->wakeup_us) / 1000;
    printf("COUNTS   device faults %+.2f and wake-ups %+.2f per picture "
           "beyond native; at this host's %.2f us per fault and %.2f us per "
           "wake-up %.3f ms (%.1f %% of native CPU), at ten times that "
           "%.3f ms (%.1f %%)\n", faults, wakeups, hc->fault_us,
           hc->wakeup_us, extra, extra / nat_cpu * 100, extra * 10,
           extra * 10 / nat_cpu * 100);
}

/*
 * The ffmpeg command-line tool on the same stream, as users run it: its
 * own real time (-benchmark's rtime, without the tool's start-up), one
 * process per stream at once.
 */
static void print_ffmpeg(const BenchCase *t, const char *path,
                         unsigned frames)
{
    g_autofree char *cmd = g_strdup_printf(
        "sh -c 'for i in $(seq %u); do ffmpeg -nostdin -hide_banner "
        "-threads %u -benchmark -i %s -f null - 2>&1 & done; wait'",
        t->streams, t->threads, path);
    g_autofree char *out = NULL;
    double worst = 0;
    const char *p;
    int status;

    g_assert_true(g_spawn_command_line_sync(cmd, &out, NULL, &status,
                                            NULL));
    for (p = out; (p = strstr(p, "rtime=")); p++) {
        worst = MAX(worst, g_ascii_strtod(p + 6, NULL));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) || worst <= 0) {
        printf("FFMPEG decode %s: the ffmpeg tool failed: %s\n", t->name,
               out);
        g_test_fail();
        return;
    }
    printf("FFMPEG decode %s %ux%u%s threads=%u: ffmpeg -threads %u "
           "-benchmark -f null: %.1f fps\n", t->name, t->width, t->height,
           t->streams > 1 ? g_strdup_printf("x%u", t->streams) : "",
           t->threads, t->threads, frames * t->streams / worst);
}

static void bench_decode(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    const BenchCase *t = data;
    g_autofree char *path = NULL;
    g_autofree char *err = NULL;
    uint32_t format = 0;
    int depth = 8;
    g_autoptr(GPtrArray) units = NULL;
    VvcClient *c;
    unsigned runs = bench_runs(), r, dev_pics = 0, nat_pics = 0;
    double dev[16], nat[16], copies = 0, p50 = 0, p99 = 0, hops[4];
    Counts dev_counts[ROLE_COUNT] = { 0 }, nat_counts = { 0 };

    if (backend_lacks(v, t)) {
        return;
    }
    path = bench_stream(t);
    units = vvc_demux(path, &format, &depth, &err);
    c = vvc_new(&qvirtio_video_vvc_ops, v);
    g_assert_nonnull(units);
    runs = MIN(runs, G_N_ELEMENTS(dev));
    vvc_set_timeout(c, 120000);
    stats_reset(v);
    for (r = 0; r < runs; r++) {
        /* odd runs device first: see report() */
        if (r & 1) {
            dev[r] = device_decode(v, c, units, format, t->streams,
                                   dev_counts, &dev_pics);
        }
        nat[r] = native_decode(units, format, t->threads, t->streams,
                               &nat_counts, &nat_pics);
        if (!(r & 1)) {
            dev[r] = device_decode(v, c, units, format, t->streams,
                                   dev_counts, &dev_pics);
        }
    }
    stats_get(v, &copies, &p50, &p99, hops);
    vvc_free(c);
    report(t, "nv12", dev, nat, copies, p50, p99, runs);
    print_counts(t, dev_counts, dev_pics, &nat_counts, nat_pics);
    printf("COUNTS   added latency in hops: codec to written and posted "
           "p50 %.3f ms p99 %.3f ms, posted to the virtqueue p50 %.3f ms "
           "p99 %.3f ms\n", hops[0] / 1000, hops[1] / 1000, hops[2] / 1000,
           hops[3] / 1000);
    print_ffmpeg(t, path, units->len);
}

/* ---- encode ---- */

static double native_encode(const BenchCase *t, const uint8_t *src,
                            unsigned distinct)
{
    const AVCodec *codec = avcodec_find_encoder_by_name(
        t->format == VIRTIO_VIDEO_FORMAT_H264 ? "libx264" : "libvpx-vp9");
    AVCodecContext *ctx = avcodec_alloc_context3(codec);
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc();
    size_t fsize = (size_t)t->width * t->height * 3 / 2;
    gint64 t0;
    unsigned i;

    /* the settings the device's encoder uses (hw/virtio/video/enc-lavc.c) */
    ctx->width = t->width;
    ctx->height = t->height;
    ctx->pix_fmt = AV_PIX_FMT_YUV420P;
    ctx->time_base = (AVRational){ 1, 30 };
    ctx->framerate = (AVRational){ 30, 1 };
    ctx->gop_size = 60;
    ctx->max_b_frames = 0;
    ctx->thread_count = t->threads;
    ctx->bit_rate = 2000000;
    ctx->rc_max_rate = 4000000;
    ctx->rc_buffer_size = 8000000;
    if (t->format == VIRTIO_VIDEO_FORMAT_H264) {
        av_opt_set(ctx->priv_data, "tune", "zerolatency", 0);
        av_opt_set(ctx->priv_data, "forced-idr", "1", 0);
        av_opt_set(ctx->priv_data, "profile", "baseline", 0);
        ctx->level = 40;
    } else {
        av_opt_set(ctx->priv_data, "deadline", "realtime", 0);
        av_opt_set(ctx->priv_data, "cpu-used", "8", 0);
        av_opt_set(ctx->priv_data, "lag-in-frames", "0", 0);
    }
    /*
     * The device opens its encoder when the first frame comes, inside the
     * time measured; so does native decoding (in its thread).  Count the
     * open here too: libvpx takes tens of milliseconds for it.
     */
    t0 = g_get_monotonic_time();
    g_assert_cmpint(avcodec_open2(ctx, codec, NULL), ==, 0);
    f->format = AV_PIX_FMT_YUV420P;
    f->width = t->width;
    f->height = t->height;
    av_frame_get_buffer(f, 0);

    for (i = 0; i <= t->frames; i++) {
        if (i < t->frames) {
            const uint8_t *s = src + (i % distinct) * fsize;

            /* the device copies each frame out of guest memory too */
            av_frame_make_writable(f);
            av_image_copy_plane(f->data[0], f->linesize[0], s, t->width,
                                t->width, t->height);
            av_image_copy_plane(f->data[1], f->linesize[1],
                                s + t->width * t->height, t->width / 2,
                                t->width / 2, t->height / 2);
            av_image_copy_plane(f->data[2], f->linesize[2],
                                s + t->width * t->height * 5 / 4,
                                t->width / 2, t->width / 2, t->height / 2);
            f->pts = i;
            avcodec_send_frame(ctx, f);
        } else {
            avcodec_send_frame(ctx, NULL);
        }
        while (avcodec_receive_packet(ctx, pkt) == 0) {
            av_packet_unref(pkt);
        }
    }
    {
        double fps = t->frames / ((g_get_monotonic_time() - t0) / 1e6);

        av_frame_free(&f);
        av_packet_free(&pkt);
        avcodec_free_context(&ctx);
        return fps;
    }
}

static void bench_encode(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    const BenchCase *t = data;
    g_autofree char *err = NULL;
    const unsigned distinct = 8;
    g_autofree uint8_t *src = vvc_test_frames(t->width, t->height, 30,
                                              distinct, &err);
    unsigned runs = bench_runs(), r;
    double dev[16], nat[16], copies = 0, p50 = 0, p99 = 0;
    VvcEncodeCase ec = {
        .format = t->format,
        .raw_format = VIRTIO_VIDEO_FORMAT_NV12,
        .width = t->width, .height = t->height, .fps = 30,
        .frames = t->frames,
        .force_keyframe_at = -1, .bitrate_change_at = -1,
        .bench_distinct = distinct,
    };

    if (backend_lacks(v, t)) {
        return;
    }
    g_assert_nonnull(src);
    runs = MIN(runs, G_N_ELEMENTS(dev));
    stats_reset(v);
    for (r = 0; r < runs; r++) {
        VvcClient *c = vvc_new(&qvirtio_video_vvc_ops, v);
        VvcEncodeResult res;

        if (!(r & 1)) {
            nat[r] = native_encode(t, src, distinct);
        }
        vvc_set_timeout(c, 120000);
        g_assert_true(vvc_encode_run(c, 1, &ec, &res, &err));
        /* setup (frames written into guest memory once) not counted */
        dev[r] = res.packets / res.seconds;
        g_array_free(res.keyframes, true);
        vvc_free(c);
        if (r & 1) {
            nat[r] = native_encode(t, src, distinct);
        }
    }
    stats_get(v, &copies, &p50, &p99, NULL);
    report(t, "nv12", dev, nat, copies, p50, p99, runs);
}

static const BenchCase cases[] = {
    { false, VIRTIO_VIDEO_FORMAT_H264, "h264",
      "-c:v libx264 -preset veryfast -b:v 8M -bf 2", 1920, 1080, 120, 1, 1 },
    { false, VIRTIO_VIDEO_FORMAT_H264, "h264",
      "-c:v libx264 -preset veryfast -b:v 8M -bf 2", 1920, 1080, 120, 2, 1 },
    { false, VIRTIO_VIDEO_FORMAT_HEVC, "hevc",
      "-c:v libx265 -preset veryfast -b:v 6M -x265-params log-level=error",
      1920, 1080, 60, 1, 1 },
    { false, VIRTIO_VIDEO_FORMAT_HEVC, "hevc",
      "-c:v libx265 -preset veryfast -b:v 6M -x265-params log-level=error",
      1920, 1080, 60, 2, 1 },
    { false, VIRTIO_VIDEO_FORMAT_VP9, "vp9",
      "-c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 6M",
      1920, 1080, 60, 1, 1 },
    { false, VIRTIO_VIDEO_FORMAT_VP9, "vp9",
      "-c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 6M",
      1920, 1080, 60, 2, 1 },
    { false, VIRTIO_VIDEO_FORMAT_H264, "h264",
      "-c:v libx264 -preset veryfast -b:v 4M -bf 2", 1280, 720, 120, 1, 4 },
    { true, VIRTIO_VIDEO_FORMAT_H264, "h264", NULL, 1280, 720, 60, 1, 1 },
    { true, VIRTIO_VIDEO_FORMAT_VP9, "vp9", NULL, 1280, 720, 60, 1, 1 },
};

static void register_virtio_video_bench(void)
{
    size_t i;

    if (!g_getenv("VIRTIO_VIDEO_BENCH")) {
        return;
    }
    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        const BenchCase *t = &cases[i];
        g_autofree char *name =
            g_strdup_printf("bench-%s-%s-%ux%u-x%u", t->encode ? "enc" : "dec",
                            t->name, t->width, t->height, t->streams);
        QOSGraphTestOptions opts = { .arg = (void *)t };

        qos_add_test(name, t->encode ? "virtio-video-bench-enc" :
                     t->threads == 1 ? "virtio-video-bench1" :
                     "virtio-video-bench2",
                     t->encode ? bench_encode : bench_decode, &opts);
    }
}

libqos_init(register_virtio_video_bench);

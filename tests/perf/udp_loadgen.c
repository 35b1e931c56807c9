/* UDP request/response load generator for the benchmarks (RADIUS).
 *
 * Written in C so that the generator itself takes a few percent of a core
 * and leaves the rest of this 2-core box to the server being measured (a
 * Python generator needed most of a core at 20,000 requests/s).
 *
 *   udp_loadgen MODE PORT PACKETS_FILE COUNT ARG [TIMEOUT_S]
 *
 * MODE closed: ARG requests in flight; MODE open: ARG requests per second.
 * PACKETS_FILE: requests as (2-byte big-endian length, bytes), sent in turn.
 * A reply is matched to its request by (source socket, RADIUS identifier):
 * 16 sockets give 4,096 slots.  Prints one JSON line: sent, received, lost,
 * seconds, rate, p50_ms, p99_ms, p999_ms, max_ms.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SOCKETS 16

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static unsigned char **packets;
static int *lengths;
static long n_packets;
static int socks[SOCKETS];
static double slot_sent[SOCKETS * 256]; /* 0 = free */
static long in_flight, sent, received, overwritten;
static double *latencies;

static void load_packets(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    long cap = 1024;
    packets = malloc(cap * sizeof *packets);
    lengths = malloc(cap * sizeof *lengths);
    unsigned char head[2];
    while (fread(head, 1, 2, f) == 2) {
        int len = (head[0] << 8) | head[1];
        if (n_packets == cap) {
            cap *= 2;
            packets = realloc(packets, cap * sizeof *packets);
            lengths = realloc(lengths, cap * sizeof *lengths);
        }
        packets[n_packets] = malloc(len);
        if (fread(packets[n_packets], 1, len, f) != (size_t)len) { fprintf(stderr, "short file\n"); exit(2); }
        lengths[n_packets++] = len;
    }
    fclose(f);
    if (!n_packets) { fprintf(stderr, "no packets\n"); exit(2); }
}

static void send_next(double t) {
    long k = sent % n_packets;
    int s = (int)((sent / 256) % SOCKETS);
    int slot = s * 256 + packets[k][1];
    if (slot_sent[slot] != 0) { /* still waiting: the earlier one is lost */
        overwritten++;
        in_flight--;
    }
    slot_sent[slot] = t;
    if (send(socks[s], packets[k], lengths[k], 0) < 0 && errno != EAGAIN) { perror("send"); exit(2); }
    sent++;
    in_flight++;
}

static void drain(struct pollfd *fds) {
    unsigned char buf[4096];
    for (int s = 0; s < SOCKETS; s++) {
        if (!(fds[s].revents & POLLIN)) continue;
        for (;;) {
            ssize_t n = recv(socks[s], buf, sizeof buf, MSG_DONTWAIT);
            if (n < 2) break;
            int slot = s * 256 + buf[1];
            if (slot_sent[slot] != 0) {
                latencies[received++] = now() - slot_sent[slot];
                slot_sent[slot] = 0;
                in_flight--;
            }
        }
    }
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s closed|open PORT PACKETS_FILE COUNT INFLIGHT|RATE [TIMEOUT_S]\n", argv[0]);
        return 2;
    }
    int closed = strcmp(argv[1], "closed") == 0;
    int port = atoi(argv[2]);
    long count = atol(argv[4]);
    double arg = atof(argv[5]);
    double timeout = argc > 6 ? atof(argv[6]) : 2.0;
    load_packets(argv[3]);
    latencies = malloc(sizeof(double) * (count + 1));
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    struct pollfd fds[SOCKETS];
    for (int s = 0; s < SOCKETS; s++) {
        socks[s] = socket(AF_INET, SOCK_DGRAM, 0);
        int size = 4 << 20;
        setsockopt(socks[s], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        if (connect(socks[s], (struct sockaddr *)&to, sizeof to) < 0) { perror("connect"); return 2; }
        fds[s].fd = socks[s];
        fds[s].events = POLLIN;
    }
    double start = now(), last_reply = start;
    if (closed) {
        long inflight = (long)arg;
        while (received < count) {
            double t = now();
            while (sent < count && in_flight < inflight) send_next(t);
            int ready = poll(fds, SOCKETS, (int)(timeout * 1000));
            if (ready <= 0) break; /* what is still in flight is lost */
            drain(fds);
        }
    } else {
        double interval = 1.0 / arg, next_send = start;
        for (;;) {
            double t = now();
            while (sent < count && t >= next_send) {
                send_next(t);
                next_send += interval;
            }
            if (sent >= count && (in_flight <= 0 || t - last_reply > timeout)) break;
            double wait = sent < count ? next_send - now() : 0.05;
            if (wait < 0) wait = 0;
            struct timespec ts = {.tv_sec = (time_t)wait, .tv_nsec = (long)((wait - (time_t)wait) * 1e9)};
            int ready = ppoll(fds, SOCKETS, &ts, NULL);
            if (ready > 0) {
                drain(fds);
                last_reply = now();
            }
        }
    }
    double seconds = now() - start;
    qsort(latencies, received, sizeof(double), cmp_double);
#define PCT(q) (received ? latencies[(long)((q) * received) < received ? (long)((q) * received) : received - 1] * 1000 : -1)
    printf("{\"sent\": %ld, \"received\": %ld, \"lost\": %ld, \"seconds\": %.3f, \"rate\": %.1f, "
           "\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"p999_ms\": %.3f, \"max_ms\": %.3f, \"generator\": \"c\"}\n",
           sent, received, sent - received, seconds, received / seconds, PCT(0.5), PCT(0.99), PCT(0.999),
           received ? latencies[received - 1] * 1000 : -1);
    (void)overwritten;
    return 0;
}

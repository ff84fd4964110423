/* New-connection rate through an HTTP proxy's CONNECT tunnels (or directly, as the baseline).
 * Each of THREADS threads loops for SECONDS: connect, [CONNECT host:port, read the 200],
 * GET a small response (Connection: close), read to EOF, close. Prints completed/second.
 * Usage: connect-rate PROXY_PORT|0 TARGET_PORT THREADS SECONDS   (PROXY_PORT 0 = direct)
 * Built by bench/egress.sh with gcc -O2 -pthread. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int proxy_port, target_port, seconds;
static volatile int stop;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int dial(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { close(fd); return -1; }
    return fd;
}

static int send_all(int fd, const char *s) {
    size_t n = strlen(s), off = 0;
    while (off < n) { ssize_t w = send(fd, s + off, n - off, MSG_NOSIGNAL); if (w <= 0) return -1; off += w; }
    return 0;
}

/* Reads a response head; 0 if its status is 200. */
static int read_head(int fd) {
    char buf[4096]; size_t len = 0;
    while (len < sizeof buf - 1) {
        ssize_t r = recv(fd, buf + len, 1, 0);
        if (r <= 0) return -1;
        len += r; buf[len] = 0;
        if (len >= 4 && memcmp(buf + len - 4, "\r\n\r\n", 4) == 0) return strncmp(buf + 9, "200", 3) == 0 ? 0 : -1;
    }
    return -1;
}

static void *worker(void *arg) {
    long *done = arg;
    char connect_req[128], get_req[] = "GET /small HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", buf[16384];
    snprintf(connect_req, sizeof connect_req, "CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", target_port, target_port);
    while (!stop) {
        int fd = dial(proxy_port ? proxy_port : target_port);
        if (fd < 0) continue;
        int ok = 1;
        if (proxy_port) ok = send_all(fd, connect_req) == 0 && read_head(fd) == 0;
        if (ok) ok = send_all(fd, get_req) == 0;
        ssize_t got = 0, r;
        while (ok && (r = recv(fd, buf, sizeof buf, 0)) > 0) got += r;
        close(fd);
        if (ok && got > 0) (*done)++;
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: connect-rate PROXY_PORT|0 TARGET_PORT THREADS SECONDS\n"); return 2; }
    proxy_port = atoi(argv[1]); target_port = atoi(argv[2]);
    int threads = atoi(argv[3]); seconds = atoi(argv[4]);
    pthread_t t[256]; long done[256] = {0};
    double start = now();
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, worker, &done[i]);
    sleep(seconds);
    stop = 1;
    long total = 0;
    for (int i = 0; i < threads; i++) { pthread_join(t[i], NULL); total += done[i]; }
    printf("%.0f\n", total / (now() - start));
    return 0;
}

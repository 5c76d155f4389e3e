/* nats_js_pub URL COUNT SIZE [WINDOW] [SECONDS] [REPLICAS] [RATE]: JetStream publisher for bench/run.sh
 * and bench/replication.sh. URL may be a comma-separated server list (a cluster). Creates (or reuses)
 * stream BENCH on subject "bench" with file storage and REPLICAS replicas (default 1; retried for up
 * to 30 s while a new cluster elects its JetStream leaders), then publishes COUNT messages of SIZE
 * bytes with js_PublishAsync and at most WINDOW un-acked messages in flight (NATS' recommended way to
 * go fast: async publish with a bounded window), waits for every ack and prints
 * "mode=nats records=N failed=F secs=S rps=R mbps=M". With RATE > 0 it publishes at RATE messages/s
 * and also prints the per-message latency, publish to ack, as "p50_ms=… p99_ms=…" (the send time
 * travels in the payload's first 8 bytes and is read back in the ack handler). */
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile int64_t g_failed = 0;
static int64_t* g_lat_us = NULL;  /* latencies (µs) when rate-limited; written by the ack thread */
static volatile long long g_lat_n = 0;
static long long g_lat_cap = 0;

static void on_pub_err(jsCtx* js, jsPubAckErr* pae, void* closure) {
  (void)js; (void)closure;
  if (g_failed++ == 0) fprintf(stderr, "publish error: %s\n", pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err));
}

static void on_ack(jsCtx* js, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
  (void)js; (void)pa; (void)closure;
  if (pae != NULL) {
    if (g_failed++ == 0) fprintf(stderr, "publish error: %s\n", pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err));
  } else if (natsMsg_GetDataLength(msg) >= 8 && g_lat_n < g_lat_cap) {
    int64_t sent_us;
    memcpy(&sent_us, natsMsg_GetData(msg), 8);
    g_lat_us[g_lat_n++] = nats_NowInNanoSeconds() / 1000 - sent_us;
  }
  natsMsg_Destroy(msg);
}

static int cmp_i64(const void* a, const void* b) {
  int64_t x = *(const int64_t*)a, y = *(const int64_t*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  if (argc < 4) { fprintf(stderr, "usage: %s URL COUNT SIZE [WINDOW] [SECONDS] [REPLICAS] [RATE]\n", argv[0]); return 1; }
  const char* url = argv[1];
  long long count = atoll(argv[2]);
  int size = atoi(argv[3]);
  long long window = argc > 4 ? atoll(argv[4]) : 4096;
  double max_seconds = argc > 5 ? atof(argv[5]) : 60;
  int replicas = argc > 6 ? atoi(argv[6]) : 1;
  double rate = argc > 7 ? atof(argv[7]) : 0;
  if (count <= 0 || count > 100000000 || size <= 0 || size > 1 << 20 || window <= 0 || replicas < 1 || replicas > 5 ||
      rate < 0 || (rate > 0 && size < 8)) {
    fprintf(stderr, "bad arguments\n");
    return 1;
  }
  if (rate > 0) {
    g_lat_cap = count;
    g_lat_us = calloc((size_t)count, sizeof(int64_t));
    if (g_lat_us == NULL) { fprintf(stderr, "out of memory\n"); return 1; }
  }

  natsConnection* nc = NULL;
  jsCtx* js = NULL;
  jsOptions jo;
  jsErrCode jerr = 0;
  natsStatus s = natsConnection_ConnectTo(&nc, url);
  if (s == NATS_OK) s = jsOptions_Init(&jo);
  if (s == NATS_OK) {
    jo.PublishAsync.MaxPending = window;
    /* A full window blocks the publisher up to StallWait (default 200 ms) before it fails with a
     * timeout; a replicated stream on a loaded machine can take longer than that to drain. */
    jo.PublishAsync.StallWait = 10000;
    if (rate > 0) jo.PublishAsync.AckHandler = on_ack;  /* the ErrHandler is then ignored */
    else jo.PublishAsync.ErrHandler = on_pub_err;
    s = natsConnection_JetStream(&js, nc, &jo);
  }
  if (s == NATS_OK) {
    jsStreamConfig cfg;
    const char* subjects[] = {"bench"};
    jsStreamInfo* si = NULL;
    jsStreamConfig_Init(&cfg);
    cfg.Name = "BENCH";
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = replicas;
    /* A cluster just started may not have its JetStream meta leader yet: retry, bounded. */
    int64_t setup_deadline = nats_Now() + 30000;
    do {
      si = NULL;
      jerr = 0;
      s = js_AddStream(&si, js, &cfg, NULL, &jerr);
      if (si) jsStreamInfo_Destroy(si);
      if (s == NATS_OK) break;
      nats_Sleep(250);
    } while (nats_Now() < setup_deadline);
  }
  if (s != NATS_OK) { fprintf(stderr, "setup: %s (jerr %d)\n", natsStatus_GetText(s), (int)jerr); return 1; }

  char* payload = malloc((size_t)size);
  for (int i = 0; i < size; ++i) payload[i] = (char)('a' + (i * 7 + i / 13) % 26);
  int64_t start = nats_Now();
  int64_t deadline = start + (int64_t)(max_seconds * 1000);
  long long sent = 0;
  for (; sent < count && s == NATS_OK; ++sent) {
    if (rate > 0) {  /* paced: message i leaves at start + i / rate */
      int64_t due_us = start * 1000 + (int64_t)((double)sent * 1e6 / rate);
      int64_t now_us;
      while ((now_us = nats_NowInNanoSeconds() / 1000) < due_us) {
        if (due_us - now_us > 2000) nats_Sleep(1);
      }
      memcpy(payload, &now_us, 8);
      if (nats_Now() > deadline) break;
    }
    s = js_PublishAsync(js, "bench", payload, size, NULL);
    if ((sent & 4095) == 0 && nats_Now() > deadline) break;
  }
  if (s != NATS_OK) fprintf(stderr, "publish: %s\n", natsStatus_GetText(s));
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = 30000;
  natsStatus cs = js_PublishAsyncComplete(js, &po);
  if (cs != NATS_OK) fprintf(stderr, "complete: %s\n", natsStatus_GetText(cs));
  double secs = (double)(nats_Now() - start) / 1000.0;
  long long ok = sent - g_failed;
  printf("mode=nats records=%lld failed=%lld secs=%.3f rps=%.0f mbps=%.1f", ok, (long long)g_failed, secs,
         (double)ok / secs, (double)ok * size / secs / 1e6);
  if (rate > 0 && g_lat_n > 0) {
    long long n = g_lat_n;
    qsort(g_lat_us, (size_t)n, sizeof(int64_t), cmp_i64);
    printf(" p50_ms=%.3f p99_ms=%.3f", g_lat_us[(n - 1) / 2] / 1000.0, g_lat_us[(long long)((n - 1) * 0.99)] / 1000.0);
  }
  printf("\n");
  free(g_lat_us);
  free(payload);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  nats_Close();
  return ok == count ? 0 : 2;
}

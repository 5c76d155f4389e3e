/* nats_js_pub URL COUNT SIZE [WINDOW] [SECONDS]: JetStream publisher for bench/run.sh.
 * Creates (or reuses) stream BENCH on subject "bench" with file storage, then publishes COUNT
 * messages of SIZE bytes with js_PublishAsync and at most WINDOW un-acked messages in flight
 * (NATS' recommended way to go fast: async publish with a bounded window), waits for every ack and
 * prints "mode=nats records=N failed=F secs=S rps=R mbps=M". */
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile int64_t g_failed = 0;

static void on_pub_err(jsCtx* js, jsPubAckErr* pae, void* closure) {
  (void)js; (void)closure;
  if (g_failed++ == 0) fprintf(stderr, "publish error: %s\n", pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err));
}

int main(int argc, char** argv) {
  if (argc < 4) { fprintf(stderr, "usage: %s URL COUNT SIZE [WINDOW] [SECONDS]\n", argv[0]); return 1; }
  const char* url = argv[1];
  long long count = atoll(argv[2]);
  int size = atoi(argv[3]);
  long long window = argc > 4 ? atoll(argv[4]) : 4096;
  double max_seconds = argc > 5 ? atof(argv[5]) : 60;
  if (count <= 0 || size <= 0 || size > 1 << 20 || window <= 0) { fprintf(stderr, "bad arguments\n"); return 1; }

  natsConnection* nc = NULL;
  jsCtx* js = NULL;
  jsOptions jo;
  jsErrCode jerr = 0;
  natsStatus s = natsConnection_ConnectTo(&nc, url);
  if (s == NATS_OK) s = jsOptions_Init(&jo);
  if (s == NATS_OK) {
    jo.PublishAsync.MaxPending = window;
    jo.PublishAsync.ErrHandler = on_pub_err;
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
    s = js_AddStream(&si, js, &cfg, NULL, &jerr);
    if (si) jsStreamInfo_Destroy(si);
  }
  if (s != NATS_OK) { fprintf(stderr, "setup: %s (jerr %d)\n", natsStatus_GetText(s), (int)jerr); return 1; }

  char* payload = malloc((size_t)size);
  for (int i = 0; i < size; ++i) payload[i] = (char)('a' + (i * 7 + i / 13) % 26);
  int64_t start = nats_Now();
  int64_t deadline = start + (int64_t)(max_seconds * 1000);
  long long sent = 0;
  for (; sent < count && s == NATS_OK; ++sent) {
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
  printf("mode=nats records=%lld failed=%lld secs=%.3f rps=%.0f mbps=%.1f\n", ok, (long long)g_failed, secs,
         (double)ok / secs, (double)ok * size / secs / 1e6);
  free(payload);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  nats_Close();
  return ok == count ? 0 : 2;
}

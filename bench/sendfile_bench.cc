// sendfile_bench DIR [FILE_MIB] [SECONDS]: the machine's zero-copy ceiling for a Kafka fetch.
// Writes a FILE_MIB file in DIR (the data disk), reads it once so it sits in the page cache, then
// sends it over and over with sendfile() to a loopback TCP socket whose reader (a second thread)
// discards everything. Prints "sendfile_mbps=<MB/s>". The file is removed at exit.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2) { std::fprintf(stderr, "usage: %s DIR [FILE_MIB] [SECONDS]\n", argv[0]); return 1; }
  std::string path = std::string(argv[1]) + "/sendfile-bench.dat";
  long mib = argc > 2 ? std::atol(argv[2]) : 256;
  double seconds = argc > 3 ? std::atof(argv[3]) : 5;
  if (mib <= 0 || mib > 4096) { std::fprintf(stderr, "FILE_MIB must be in 1..4096\n"); return 1; }
  const size_t size = size_t(mib) << 20;

  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) { std::perror("open"); return 1; }
  std::vector<char> block(1 << 20);
  for (size_t i = 0; i < block.size(); ++i) block[i] = char(i * 31);
  for (size_t off = 0; off < size; off += block.size())
    if (write(fd, block.data(), block.size()) != ssize_t(block.size())) { std::perror("write"); return 1; }
  for (size_t off = 0; off < size; off += block.size()) (void)!pread(fd, block.data(), block.size(), off);

  int ls = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof addr;
  if (bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr) || listen(ls, 1) ||
      getsockname(ls, reinterpret_cast<sockaddr*>(&addr), &alen)) { std::perror("listen"); return 1; }

  std::atomic<bool> stop{false};
  std::thread reader([&] {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr)) { std::perror("connect"); return; }
    std::vector<char> buf(1 << 20);
    while (read(c, buf.data(), buf.size()) > 0) {}
    close(c);
  });
  int s = accept(ls, nullptr, nullptr);
  if (s < 0) { std::perror("accept"); return 1; }

  auto start = std::chrono::steady_clock::now();
  double sent = 0, elapsed = 0;
  while (elapsed < seconds) {
    off_t off = 0;
    while (size_t(off) < size) {
      ssize_t n = sendfile(s, fd, &off, size - size_t(off));
      if (n <= 0) { std::perror("sendfile"); stop = true; break; }
      sent += double(n);
    }
    if (stop) break;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  shutdown(s, SHUT_WR);
  reader.join();
  elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  close(s);
  close(ls);
  close(fd);
  unlink(path.c_str());
  std::printf("sendfile_mbps=%.1f\n", sent / elapsed / 1e6);
  return 0;
}
